-- lmigrate.diff: compare a declared model with a reflected one and list
-- the changes that turn the database (reflected) into the declared schema.
--
-- Both models are normalised first (lmigrate.model). The changes come in
-- the order a revision applies them:
--   add_schema; add_table (referenced tables first); rename_table;
--   per table: drop_index, drop_fk, drop_check, drop_unique, drop_pk,
--   rename_column, add_column, alter_column, drop_column, add_pk,
--   add_unique, add_fk, add_check, add_index, table_comment;
--   drop_table (referencing tables first); drop_schema.
-- Each change is a table { kind =, table = key, summary = "...", ... };
-- the extra fields per kind are listed at `new_change` below. A change with
-- `info = true` (uncomparable_default, uncomparable_check,
-- uncomparable_index) is a note, not a difference: it is reported, never
-- rendered as an operation, and does not make `check` fail.
--
-- How things are matched:
--   tables and columns by name; indexes by name; unique constraints,
--   foreign keys and primary keys by content (columns, referenced table,
--   actions), since unnamed constraints get names the database picks;
--   checks by name when both sides are named, else by their text.
--   Renames (opts.renames ~= false): a dropped and an added column of the
--   same type in one table, when each is the only candidate of the other,
--   become rename_column; a dropped and an added table with the same
--   columns (names and types) become rename_table.

local model = require("lmigrate.model")

local M = {}

local renamed_view, originals

local function qname(key, col)
  if col then return ("'%s.%s'"):format(key, col) end
  return ("'%s'"):format(key)
end

local function cols_text(cols)
  local parts = {}
  for i, c in ipairs(cols) do parts[i] = type(c) == "table" and c.expr or c end
  return table.concat(parts, ", ")
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function find_col(t, name)
  for i, c in ipairs(t.columns) do if c.name == name then return c, i end end
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The content signature of a unique / primary key / foreign key.
local function key_sig(k) return table.concat(k.columns, "\0") end

local function fk_sig(fk)
  return table.concat({ table.concat(fk.columns, "\0"), fk.ref_key,
                        table.concat(fk.ref_columns, "\0"), fk.on_delete or "", fk.on_update or "" }, "\1")
end

-- Split list a (declared) and b (reflected) into pairs and leftovers by
-- sig(x). Returns matched { {a, b} }, only_a, only_b.
local function match_by(a, b, sig)
  local pool, matched, only_a, only_b = {}, {}, {}, {}
  for _, y in ipairs(b) do
    local s = sig(y)
    pool[s] = pool[s] or {}
    table.insert(pool[s], y)
  end
  local used = {}
  for _, x in ipairs(a) do
    local s = sig(x)
    local cand = pool[s] and table.remove(pool[s], 1)
    if cand then
      matched[#matched + 1] = { x, cand }
      used[cand] = true
    else
      only_a[#only_a + 1] = x
    end
  end
  for _, y in ipairs(b) do if not used[y] then only_b[#only_b + 1] = y end end
  return matched, only_a, only_b
end

-- The order to create the tables of keys in: a table after the tables it
-- references (among keys); a cycle keeps the declared order.
local function dependency_order(keys, tables)
  local set, done, out, visiting = {}, {}, {}, {}
  for _, k in ipairs(keys) do set[k] = true end
  local function visit(k)
    if done[k] or visiting[k] then return end
    visiting[k] = true
    for _, fk in ipairs(tables[k].foreign_keys) do
      if set[fk.ref_key] and fk.ref_key ~= k then visit(fk.ref_key) end
    end
    visiting[k] = nil
    done[k] = true
    out[#out + 1] = k
  end
  for _, k in ipairs(keys) do visit(k) end
  return out
end

-- ---------- columns ----------

-- The alter_column change for column pair (d declared, r reflected), or
-- nil; and an uncomparable_default note, or nil.
local function compare_column(key, d, r, dialect)
  local ch = { kind = "alter_column", table = key, column = r.name, col = d, from_col = r }
  local parts, any = {}, false
  if d.ntype ~= r.ntype then
    ch.type = { from = r.type, to = d.type }
    parts[#parts + 1] = ("type change from %s to %s"):format(r.ntype, d.ntype)
    any = true
  end
  if d.nullable ~= r.nullable then
    ch.nullable = { from = r.nullable, to = d.nullable }
    parts[#parts + 1] = d.nullable and "NULL" or "NOT NULL"
    any = true
  end
  local note
  if d.ndefault ~= r.ndefault and not (d.autoincrement and r.autoincrement) then
    -- a default added or removed is always a change; two defaults that
    -- differ are one only when both are plain literals or keywords
    if d.ndefault == nil or r.ndefault == nil or
       (model.is_simple(d.ndefault) and model.is_simple(r.ndefault)) then
      ch.server_default = { from = r.server_default, to = d.server_default }
      parts[#parts + 1] = ("server default %s -> %s"):format(r.server_default or "none", d.server_default or "none")
      any = true
    else
      note = { kind = "uncomparable_default", info = true, table = key, column = r.name,
               declared = d.server_default, reflected = r.server_default,
               summary = ("cannot compare the server default of %s: declared %s, database has %s; " ..
                          "change it by hand if they differ"):format(qname(key, r.name),
                          d.server_default or "none", r.server_default or "none") }
    end
  end
  if dialect == "postgresql" and (d.comment or nil) ~= (r.comment or nil) then
    ch.comment = { from = r.comment, to = d.comment }
    parts[#parts + 1] = d.comment and "comment" or "comment removed"
    any = true
  end
  if not any then return nil, note end
  ch.summary = ("%s on column %s"):format(table.concat(parts, ", "), qname(key, r.name))
  return ch, note
end

-- Rename inference between dropped and added columns of one table: the
-- pairs where each is the other's only candidate of the same type.
local function infer_renames(dropped, added)
  local pairs_ = {}
  local by_type_d, by_type_a = {}, {}
  for _, c in ipairs(dropped) do by_type_d[c.ntype] = (by_type_d[c.ntype] or 0) + 1 end
  for _, c in ipairs(added) do by_type_a[c.ntype] = (by_type_a[c.ntype] or 0) + 1 end
  for _, r in ipairs(dropped) do
    if by_type_d[r.ntype] == 1 and by_type_a[r.ntype] == 1 then
      for _, d in ipairs(added) do
        if d.ntype == r.ntype then pairs_[#pairs_ + 1] = { d, r } end
      end
    end
  end
  return pairs_
end

-- ---------- tables ----------

-- A view of reflected table r with renamed columns (colmap: old -> new)
-- and renamed tables (tmap: old key -> new key) applied to its primary
-- key, unique constraints, foreign keys and index columns. Each copied
-- object keeps the reflected one as .orig.
renamed_view = function(r, colmap, tmap)
  local function cols(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = type(c) == "string" and (colmap[c] or c) or c end
    return out
  end
  local function copy(x, fields)
    local out = { orig = x }
    for k, v in pairs(x) do out[k] = v end
    for _, f in ipairs(fields) do out[f] = cols(x[f]) end
    return out
  end
  local v = { primary_key = r.primary_key and copy(r.primary_key, { "columns" }),
              uniques = {}, foreign_keys = {}, indexes = {} }
  for i, u in ipairs(r.uniques) do v.uniques[i] = copy(u, { "columns" }) end
  for i, fk in ipairs(r.foreign_keys) do
    v.foreign_keys[i] = copy(fk, { "columns" })
    v.foreign_keys[i].ref_key = tmap[fk.ref_key] or fk.ref_key
  end
  for i, ix in ipairs(r.indexes) do v.indexes[i] = copy(ix, { "ncols" }) end
  return v
end

-- The reflected originals of view objects.
originals = function(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.orig or x end
  return out
end

-- Append to out the changes within one table present on both sides
-- (d declared under key, r reflected; r may have been renamed to key).
local function compare_table(out, key, d, r, opts, dialect, buckets)
  local include = opts.include
  local function want(kind, name)
    return not include or include(kind, name, key) ~= false
  end
  local b = buckets
  -- columns
  local dropped, added = {}, {}
  for _, c in ipairs(r.columns) do
    if not find_col(d, c.name) and want("column", c.name) then dropped[#dropped + 1] = c end
  end
  for _, c in ipairs(d.columns) do
    if not find_col(r, c.name) and want("column", c.name) then added[#added + 1] = c end
  end
  local renamed_d, renamed_r = {}, {}
  if opts.renames ~= false then
    for _, p in ipairs(infer_renames(dropped, added)) do
      local dc, rc = p[1], p[2]
      renamed_d[dc], renamed_r[rc] = true, true
      b.rename_column[#b.rename_column + 1] = { kind = "rename_column", table = key, column = rc.name,
        new_name = dc.name, inferred = true,
        summary = ("possible rename of column %s to '%s' (same type %s; --no-renames for drop + add)"):format(
          qname(key, rc.name), dc.name, dc.ntype) }
      local ch, note = compare_column(key, dc, rc, dialect)
      if ch then ch.column = dc.name; b.alter_column[#b.alter_column + 1] = ch end
      if note then note.column = dc.name; b.notes[#b.notes + 1] = note end
    end
  end
  local existing = opts.existing == nil or opts.existing[key]
  -- The database carries indexes and constraints through a rename: compare
  -- them under the new names (rv), but drop and re-create the originals.
  local colmap = {}
  for _, ch in ipairs(b.rename_column) do
    if ch.table == key then colmap[ch.column] = ch.new_name end
  end
  local rv = renamed_view(r, colmap, opts.table_renames or {})
  for _, c in ipairs(added) do
    if not renamed_d[c] then
      b.add_column[#b.add_column + 1] = { kind = "add_column", table = key, column = c.name, col = c,
        existing = existing and true or false, pk = r.primary_key and #r.primary_key.columns == 1
        and r.primary_key.columns[1] or nil,
        summary = ("added column %s"):format(qname(key, c.name)) }
    end
  end
  for _, c in ipairs(dropped) do
    if not renamed_r[c] then
      b.drop_column[#b.drop_column + 1] = { kind = "drop_column", table = key, column = c.name, col = c,
        summary = ("removed column %s"):format(qname(key, c.name)) }
    end
  end
  for _, dc in ipairs(d.columns) do
    local rc = find_col(r, dc.name)
    if rc and want("column", dc.name) then
      local ch, note = compare_column(key, dc, rc, dialect)
      if ch then b.alter_column[#b.alter_column + 1] = ch end
      if note then b.notes[#b.notes + 1] = note end
    end
  end
  -- primary key
  local dpk, rpk = d.primary_key, r.primary_key
  if not (dpk == nil and rpk == nil) and not (dpk and rpk and same_list(dpk.columns, rv.primary_key.columns)) then
    if rpk then
      b.drop_pk[#b.drop_pk + 1] = { kind = "drop_pk", table = key, pk = rpk,
        summary = ("removed primary key (%s) on %s"):format(cols_text(rpk.columns), qname(key)) }
    end
    if dpk then
      b.add_pk[#b.add_pk + 1] = { kind = "add_pk", table = key, pk = dpk,
        summary = ("added primary key (%s) on %s"):format(cols_text(dpk.columns), qname(key)) }
    end
  end
  -- unique constraints
  local _, ua, ub = match_by(d.uniques, rv.uniques, key_sig)
  ub = originals(ub)
  for _, u in ipairs(ub) do
    if want("unique_constraint", u.name) then
      b.drop_unique[#b.drop_unique + 1] = { kind = "drop_unique", table = key, unique = u,
        summary = ("removed unique constraint %s(%s) on %s"):format(u.name and (u.name .. " ") or "", cols_text(u.columns), qname(key)) }
    end
  end
  for _, u in ipairs(ua) do
    if want("unique_constraint", u.name) then
      b.add_unique[#b.add_unique + 1] = { kind = "add_unique", table = key, unique = u,
        existing = existing and true or false,
        summary = ("added unique constraint %s(%s) on %s"):format(u.name and (u.name .. " ") or "", cols_text(u.columns), qname(key)) }
    end
  end
  -- foreign keys
  local _, fa, fb = match_by(d.foreign_keys, rv.foreign_keys, fk_sig)
  fb = originals(fb)
  for _, fk in ipairs(fb) do
    if want("foreign_key", fk.name) then
      b.drop_fk[#b.drop_fk + 1] = { kind = "drop_fk", table = key, fk = fk,
        summary = ("removed foreign key (%s) -> %s(%s) on %s"):format(cols_text(fk.columns), fk.ref_key, cols_text(fk.ref_columns), qname(key)) }
    end
  end
  for _, fk in ipairs(fa) do
    if want("foreign_key", fk.name) then
      b.add_fk[#b.add_fk + 1] = { kind = "add_fk", table = key, fk = fk, existing = existing and true or false,
        summary = ("added foreign key (%s) -> %s(%s) on %s"):format(cols_text(fk.columns), fk.ref_key, cols_text(fk.ref_columns), qname(key)) }
    end
  end
  -- checks: by name when both are named, else by text
  local rnamed = {}
  for _, ck in ipairs(r.checks) do if ck.name then rnamed[ck.name] = ck end end
  local dleft, rused = {}, {}
  for _, ck in ipairs(d.checks) do
    local rc = ck.name and rnamed[ck.name]
    if rc then
      rused[rc] = true
      if rc.nsql ~= ck.nsql then
        if dialect == "postgresql" then
          b.notes[#b.notes + 1] = { kind = "uncomparable_check", info = true, table = key, name = ck.name,
            declared = ck.sql, reflected = rc.sql,
            summary = ("cannot compare check constraint %s on %s: declared (%s), database has (%s); " ..
                       "PostgreSQL rewrites expressions, so change it by hand if they differ"):format(ck.name, qname(key), ck.sql, rc.sql) }
        else
          b.drop_check[#b.drop_check + 1] = { kind = "drop_check", table = key, check = rc,
            summary = ("removed check constraint %s on %s"):format(rc.name, qname(key)) }
          b.add_check[#b.add_check + 1] = { kind = "add_check", table = key, check = ck,
            existing = existing and true or false,
            summary = ("added check constraint %s on %s"):format(ck.name, qname(key)) }
        end
      end
    else
      dleft[#dleft + 1] = ck
    end
  end
  local rleft = {}
  for _, ck in ipairs(r.checks) do if not rused[ck] then rleft[#rleft + 1] = ck end end
  local _, ca, cb = match_by(dleft, rleft, function(ck) return ck.nsql end)
  for _, ck in ipairs(cb) do
    if want("check_constraint", ck.name) then
      b.drop_check[#b.drop_check + 1] = { kind = "drop_check", table = key, check = ck,
        summary = ("removed check constraint %s(%s) on %s"):format(ck.name and (ck.name .. " ") or "", ck.sql, qname(key)) }
    end
  end
  for _, ck in ipairs(ca) do
    if want("check_constraint", ck.name) then
      b.add_check[#b.add_check + 1] = { kind = "add_check", table = key, check = ck, existing = existing and true or false,
        summary = ("added check constraint %s(%s) on %s"):format(ck.name and (ck.name .. " ") or "", ck.sql, qname(key)) }
    end
  end
  -- indexes, by name
  local ridx = {}
  for _, ix in ipairs(rv.indexes) do ridx[ix.name] = ix end
  local seen = {}
  for _, ix in ipairs(d.indexes) do
    if want("index", ix.name) then
      local rx = ridx[ix.name]
      seen[ix.name] = true
      local add = { kind = "add_index", table = key, index = ix, existing = existing and true or false,
        summary = ("added index '%s' on %s(%s)"):format(ix.name, qname(key), cols_text(ix.columns)) }
      if not rx then
        b.add_index[#b.add_index + 1] = add
      elseif rx.unique ~= ix.unique or #rx.ncols ~= #ix.ncols then
        b.drop_index[#b.drop_index + 1] = { kind = "drop_index", table = key, index = rx.orig,
          summary = ("removed index '%s' on %s (changed)"):format(rx.name, qname(key)) }
        b.add_index[#b.add_index + 1] = add
      elseif not same_list(rx.ncols, ix.ncols) or rx.nwhere ~= ix.nwhere then
        -- Same shape. When only the text of an expression or of the WHERE
        -- differs, PostgreSQL may just have rewritten it (casts, IN lists).
        local text_only = (rx.nwhere == nil) == (ix.nwhere == nil)
        for i, c in ipairs(ix.ncols) do
          local rc = rx.ncols[i]
          local ce, re = c:sub(1, 1) == "(", rc:sub(1, 1) == "("
          if ce ~= re or (not ce and c ~= rc) then text_only = false end
        end
        if dialect == "postgresql" and text_only then
          b.notes[#b.notes + 1] = { kind = "uncomparable_index", info = true, table = key, name = ix.name,
            summary = ("cannot compare index '%s' on %s: its expression or WHERE differs in text " ..
                       "(PostgreSQL rewrites expressions); drop and re-create it by hand if it changed"):format(ix.name, qname(key)) }
        else
          b.drop_index[#b.drop_index + 1] = { kind = "drop_index", table = key, index = rx.orig,
            summary = ("removed index '%s' on %s (changed)"):format(rx.name, qname(key)) }
          b.add_index[#b.add_index + 1] = add
        end
      end
    end
  end
  for _, rx in ipairs(r.indexes) do
    if not seen[rx.name] and want("index", rx.name) then
      b.drop_index[#b.drop_index + 1] = { kind = "drop_index", table = key, index = rx,
        summary = ("removed index '%s' on %s"):format(rx.name, qname(key)) }
    end
  end
  -- table comment
  if dialect == "postgresql" and (d.comment or nil) ~= (r.comment or nil) then
    b.table_comment[#b.table_comment + 1] = { kind = "table_comment", table = key,
      from = r.comment, to = d.comment,
      summary = ("%s table comment on %s"):format(d.comment and (r.comment and "changed" or "added") or "removed", qname(key)) }
  end
end

local TABLE_ORDER = { "drop_index", "drop_fk", "drop_check", "drop_unique", "drop_pk",
                      "rename_column", "add_column", "alter_column", "drop_column", "add_pk",
                      "add_unique", "add_fk", "add_check", "add_index", "table_comment" }

-- Column names and canonical types of t, as one string (rename_table).
local function shape(t)
  local parts = {}
  for _, c in ipairs(t.columns) do parts[#parts + 1] = c.name .. " " .. c.ntype end
  table.sort(parts)
  return table.concat(parts, ",")
end

-- compare(declared, reflected, opts) -> changes (see the header and the
-- contract). opts: renames (default true), include(kind, name, parent),
-- existing (set of table keys that exist in the database; default: the
-- reflected tables).
function M.compare(declared, reflected, opts)
  opts = opts or {}
  local D = model.normalize(declared)
  local R = model.normalize(reflected)
  local dialect = D.dialect or R.dialect
  local include = opts.include
  local function want(kind, name, parent)
    return not include or include(kind, name, parent) ~= false
  end
  local changes = { dialect = dialect }
  local function add(ch) changes[#changes + 1] = ch end

  -- schemas
  local dsch, rsch = {}, {}
  for _, s in ipairs(D.schemas) do dsch[s] = true end
  for _, s in ipairs(R.schemas) do rsch[s] = true end
  for _, s in ipairs(D.schemas) do
    if not rsch[s] and want("schema", s) then
      add({ kind = "add_schema", schema = s, summary = ("added schema '%s'"):format(s) })
    end
  end

  -- tables
  local dkeys, rkeys = {}, {}
  for _, k in ipairs(sorted_keys(D.tables)) do if want("table", k) then dkeys[#dkeys + 1] = k end end
  for _, k in ipairs(sorted_keys(R.tables)) do if want("table", k) then rkeys[#rkeys + 1] = k end end
  local added, dropped, common = {}, {}, {}
  for _, k in ipairs(dkeys) do if R.tables[k] then common[#common + 1] = k else added[#added + 1] = k end end
  for _, k in ipairs(rkeys) do if not D.tables[k] then dropped[#dropped + 1] = k end end

  local renames = {}   -- declared key -> reflected key
  if opts.renames ~= false then
    local by_shape_a, by_shape_d = {}, {}
    for _, k in ipairs(added) do local s = shape(D.tables[k]); by_shape_a[s] = by_shape_a[s] or {}; table.insert(by_shape_a[s], k) end
    for _, k in ipairs(dropped) do local s = shape(R.tables[k]); by_shape_d[s] = by_shape_d[s] or {}; table.insert(by_shape_d[s], k) end
    for s, ks in pairs(by_shape_a) do
      local ds = by_shape_d[s]
      if #ks == 1 and ds and #ds == 1 and (D.tables[ks[1]].schema == R.tables[ds[1]].schema) then
        renames[ks[1]] = ds[1]
      end
    end
  end
  local new_tables, gone = {}, {}
  for _, k in ipairs(added) do if not renames[k] then new_tables[#new_tables + 1] = k end end
  local renamed_from = {}
  for dk, rk in pairs(renames) do renamed_from[rk] = dk end
  for _, k in ipairs(dropped) do if not renamed_from[k] then gone[#gone + 1] = k end end

  for _, k in ipairs(dependency_order(new_tables, D.tables)) do
    add({ kind = "add_table", table = k, tbl = D.tables[k], summary = ("added table '%s'"):format(k) })
  end
  for _, dk in ipairs(sorted_keys(renames)) do
    local rk = renames[dk]
    add({ kind = "rename_table", table = rk, new_name = D.tables[dk].name, new_table = dk, inferred = true,
          summary = ("possible rename of table '%s' to '%s' (same columns; --no-renames for drop + add)"):format(rk, dk) })
  end

  local buckets = { notes = {} }
  for _, kind in ipairs(TABLE_ORDER) do buckets[kind] = {} end
  local pairs_ = {}
  for _, k in ipairs(common) do pairs_[#pairs_ + 1] = { k, k } end
  for _, dk in ipairs(sorted_keys(renames)) do pairs_[#pairs_ + 1] = { dk, renames[dk] } end
  local existing = opts.existing
  if existing == nil then
    existing = {}
    for k in pairs(R.tables) do existing[k] = true end
  end
  local topts = { renames = opts.renames, include = include, existing = existing, table_renames = renamed_from }
  for _, p in ipairs(pairs_) do
    local dk, rk = p[1], p[2]
    local sub = setmetatable({ [dk] = existing[rk] or existing[dk] }, nil)
    topts.existing = sub
    compare_table(changes, dk, D.tables[dk], R.tables[rk], topts, dialect, buckets)
  end
  for _, kind in ipairs(TABLE_ORDER) do
    for _, ch in ipairs(buckets[kind]) do add(ch) end
  end

  -- dropped tables: referencing tables first
  local order = dependency_order(gone, R.tables)
  for i = #order, 1, -1 do
    local k = order[i]
    add({ kind = "drop_table", table = k, tbl = R.tables[k], summary = ("removed table '%s'"):format(k) })
  end
  for _, s in ipairs(R.schemas) do
    if not dsch[s] and want("schema", s) then
      add({ kind = "drop_schema", schema = s, summary = ("removed schema '%s'"):format(s) })
    end
  end
  for _, n in ipairs(buckets.notes) do add(n) end
  return changes
end

-- true when changes hold a difference (not only notes).
function M.has_differences(changes)
  for _, ch in ipairs(changes) do if not ch.info then return true end end
  return false
end

-- One line per change, in Alembic's wording.
function M.describe(changes)
  local out = {}
  for _, ch in ipairs(changes) do
    if ch.info then
      out[#out + 1] = "Note: " .. ch.summary
    elseif ch.inferred then
      out[#out + 1] = "Detected " .. ch.summary
    else
      out[#out + 1] = "Detected " .. ch.summary
    end
  end
  return out
end

return M
