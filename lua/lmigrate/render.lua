-- lmigrate.render: the Lua source of the revision(s) that apply a list of
-- changes (lmigrate.diff), for `lmigrate revision --autogenerate`.
--
-- render(changes, opts) -> { revisions = { rev, ... } } where each rev is
--   { upgrade = "<lua>", downgrade = "<lua>", data = "<lua>" | nil,
--     transactional = bool, comments = { "line", ... }, message_suffix = s|nil }
-- upgrade/downgrade/data are function bodies, indented 4 spaces, using
-- only `op.*` calls. downgrade undoes upgrade exactly: each change renders
-- its own (up, down) pair and downgrade runs the downs in reverse order.
--
-- On PostgreSQL, when a change touches a table that already exists
-- (change.existing), the "safe by construction" forms are used, each
-- explained in a comment in the generated file:
--   * a NOT NULL column without a default: added nullable in the first
--     revision, filled in its `data` phase by an op.backfill the author
--     completes (it raises until then), made NOT NULL in a second revision;
--   * an index: CREATE INDEX CONCURRENTLY in a second, non-transactional
--     revision (no write lock on the table while it builds);
--   * a foreign key or check: added NOT VALID in the first revision (no
--     scan under the ACCESS EXCLUSIVE lock), VALIDATE CONSTRAINT in the
--     second (which only takes a SHARE UPDATE EXCLUSIVE lock).
-- opts.safe = false turns them off. On SQLite every change is the plain op
-- call (SQLite locks the whole database for any change anyway).

local model = require("lmigrate.model")

local M = {}

local IND = "    "

-- ---------- Lua and SQL text ----------

-- A Lua string literal for s: "..." or, when s holds double quotes (SQL
-- identifiers) and no single ones, '...', so the SQL stays readable.
local function q(s)
  local quote = '"'
  if s:find('"', 1, true) and not s:find("'", 1, true) then quote = "'" end
  return quote .. s:gsub("[\\%c" .. quote .. "]", function(c)
    if c == "\\" then return "\\\\" end
    if c == quote then return "\\" .. quote end
    if c == "\n" then return "\\n" end
    if c == "\t" then return "\\t" end
    return ("\\%03d"):format(c:byte())
  end) .. quote
end
M.q = q

-- A Lua value: string, boolean, number, or a list of those.
local function lua_value(v)
  if type(v) == "string" then return q(v) end
  if type(v) == "table" then
    if v.expr then return "{ expr = " .. q(v.expr) .. " }" end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = lua_value(x) end
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  return tostring(v)
end

-- "{ k = v, ... }" for the given keys of t that are not nil, or nil.
local function options(t, keys)
  local parts = {}
  for _, k in ipairs(keys) do
    if t[k] ~= nil then parts[#parts + 1] = k .. " = " .. lua_value(t[k]) end
  end
  if #parts == 0 then return nil end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- An op call line: name(args...) with nil args dropped from the end.
local function call(name, ...)
  local args = table.pack(...)
  local n = args.n
  while n > 0 and args[n] == nil do n = n - 1 end
  local parts = {}
  for i = 1, n do parts[i] = args[i] == nil and "nil" or args[i] end
  return "op." .. name .. "(" .. table.concat(parts, ", ") .. ")"
end

-- A SQL identifier quoted as the dialects quote it ("s"."t").
local function ident(name)
  local parts = {}
  for part in (name .. "."):gmatch("([^.]*)%.") do parts[#parts + 1] = '"' .. part:gsub('"', '""') .. '"' end
  return table.concat(parts, ".")
end

local function ident_list(cols)
  local parts = {}
  for i, c in ipairs(cols) do parts[i] = ident(c) end
  return "(" .. table.concat(parts, ", ") .. ")"
end

-- Lua comment lines for text (which may hold several sentences).
local function comment(text)
  local lines, line = {}, "--"
  for word in text:gmatch("%S+") do
    if #line + #word + 1 > 76 and line ~= "--" then
      lines[#lines + 1] = line
      line = "--"
    end
    line = line .. " " .. word
  end
  lines[#lines + 1] = line
  return lines
end

-- ---------- names ----------

local function short(dialect, name)
  if dialect == "postgresql" and #name > 63 then name = name:sub(1, 63) end
  return name
end

local function tname(key) return (key:gsub("%.", "_")) end

-- The name for an unnamed constraint we must create or drop by name.
local function gen_name(dialect, prefix, key, cols, suffix)
  local parts = { prefix, tname(key) }
  for _, c in ipairs(cols or {}) do parts[#parts + 1] = type(c) == "table" and "expr" or c end
  if suffix then parts[#parts + 1] = suffix end
  return short(dialect, table.concat(parts, "_"))
end
M.gen_name = gen_name

-- ---------- columns ----------

-- The column spec source for column c of table t; type is c.type as given
-- (declared spellings), or its portable form for reflected columns.
local function colspec(dialect, t, c, opts)
  opts = opts or {}
  local ctype = c.type
  if opts.reflected then ctype = model.portable(dialect, ctype) end
  local parts = { q(c.name), q(ctype) }
  local pk = opts.pk_inline
  if pk then parts[#parts + 1] = "primary_key = true" end
  if c.autoincrement and pk then parts[#parts + 1] = "autoincrement = true" end
  -- force_nullable: the first of the safe NOT NULL steps
  if c.nullable == false and not pk and not opts.force_nullable then parts[#parts + 1] = "nullable = false" end
  local def = c.server_default
  if c.autoincrement then def = nil end
  if def and opts.reflected and dialect == "postgresql" and def:match("^%s*nextval%(") then def = nil end
  if def then parts[#parts + 1] = "server_default = " .. q(def) end
  if opts.unique then parts[#parts + 1] = "unique = true" end
  if opts.fk then
    local fk = opts.fk
    parts[#parts + 1] = "references = " .. q(fk.ref_key .. "." .. fk.ref_columns[1])
    if fk.on_delete then parts[#parts + 1] = "on_delete = " .. q(fk.on_delete) end
    if fk.on_update then parts[#parts + 1] = "on_update = " .. q(fk.on_update) end
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
M.colspec = colspec

-- ---------- whole tables ----------

-- Lines that create table t (key) with everything in it: create_table
-- with inline single-column keys, then named constraints, indexes and
-- comments. reflected: t comes from the database (portable types).
local function create_table_lines(dialect, key, t, reflected)
  local lines = {}
  local pkcols = t.primary_key and t.primary_key.columns or {}
  local pk_in_order = true
  do   -- op declares a composite key in column order
    local pos = {}
    for i, c in ipairs(t.columns) do pos[c.name] = i end
    for i = 2, #pkcols do if pos[pkcols[i]] < pos[pkcols[i - 1]] then pk_in_order = false end end
  end
  -- a named key keeps its name through create_primary_key (SQLite can
  -- only drop a named one), except PostgreSQL's own "<table>_pkey"
  local pkname = t.primary_key and t.primary_key.name
  if pkname and dialect == "postgresql" and pkname == t.name .. "_pkey" then pkname = nil end
  local separate_pk = t.primary_key and (pkname or not pk_in_order)
  local inline_pk = {}
  if t.primary_key and not separate_pk then
    for _, c in ipairs(pkcols) do inline_pk[c] = true end
  end
  local inline_unique, inline_fk, rest_u, rest_fk = {}, {}, {}, {}
  for _, u in ipairs(t.uniques or {}) do
    if #u.columns == 1 and not u.name and not inline_unique[u.columns[1]] then inline_unique[u.columns[1]] = true
    else rest_u[#rest_u + 1] = u end
  end
  for _, fk in ipairs(t.foreign_keys or {}) do
    if #fk.columns == 1 and not fk.name and not inline_fk[fk.columns[1]] then inline_fk[fk.columns[1]] = fk
    else rest_fk[#rest_fk + 1] = fk end
  end
  lines[#lines + 1] = "op.create_table(" .. q(key) .. ","
  for i, c in ipairs(t.columns) do
    lines[#lines + 1] = "  " .. colspec(dialect, t, c, { reflected = reflected, pk_inline = inline_pk[c.name],
      unique = inline_unique[c.name], fk = inline_fk[c.name] }) .. (i < #t.columns and "," or ")")
  end
  if separate_pk then
    lines[#lines + 1] = call("create_primary_key", q(t.primary_key.name or gen_name(dialect, "pk", key)), q(key),
      lua_value(pkcols))
  end
  for _, u in ipairs(rest_u) do
    lines[#lines + 1] = call("create_unique_constraint", q(u.name or gen_name(dialect, "uq", key, u.columns)), q(key),
      lua_value(u.columns))
  end
  for _, fk in ipairs(rest_fk) do
    lines[#lines + 1] = call("create_foreign_key", q(fk.name or gen_name(dialect, "fk", key, fk.columns, fk.ref_table)),
      q(key), q(fk.ref_key), lua_value(fk.columns), lua_value(fk.ref_columns), options(fk, { "on_delete", "on_update" }))
  end
  for i, ck in ipairs(t.checks or {}) do
    lines[#lines + 1] = call("create_check_constraint", q(ck.name or gen_name(dialect, "ck", key, nil, tostring(i))),
      q(key), q(ck.sql))
  end
  for _, ix in ipairs(t.indexes or {}) do
    lines[#lines + 1] = call("create_index", q(ix.name), q(key), lua_value(ix.columns),
      options({ unique = ix.unique or nil, where = ix.where }, { "unique", "where" }))
  end
  if dialect == "postgresql" then
    if t.comment then lines[#lines + 1] = call("create_table_comment", q(key), q(t.comment)) end
    for _, c in ipairs(t.columns) do
      if c.comment then lines[#lines + 1] = call("alter_column", q(key), q(c.name), "{ comment = " .. q(c.comment) .. " }") end
    end
  end
  return lines
end
M.create_table_lines = create_table_lines

-- ---------- one change ----------

-- Each renderer returns a table { up = {lines}, down = {lines} } and may
-- add { up2, down2 } (the second revision) and data (data phase lines).
local R = {}

function R.add_schema(ch) return { up = { call("create_schema", q(ch.schema)) }, down = { call("drop_schema", q(ch.schema)) } } end
function R.drop_schema(ch) return { up = { call("drop_schema", q(ch.schema)) }, down = { call("create_schema", q(ch.schema)) } } end

function R.add_table(ch, d)
  return { up = create_table_lines(d, ch.table, ch.tbl, false), down = { call("drop_table", q(ch.table)) } }
end

function R.drop_table(ch, d)
  return { up = { call("drop_table", q(ch.table)) }, down = create_table_lines(d, ch.table, ch.tbl, true) }
end

function R.rename_table(ch)
  local c = comment(("Inferred rename: table '%s' was dropped and '%s' added with the same columns. " ..
                     "If they are different tables, replace this with drop_table + create_table " ..
                     "(or run autogenerate with --no-renames)."):format(ch.table, ch.new_table))
  local up = {}
  for _, l in ipairs(c) do up[#up + 1] = l end
  local old_name = ch.table:match("([^.]+)$")
  up[#up + 1] = call("rename_table", q(ch.table), q(ch.new_name))
  return { up = up, down = { call("rename_table", q(ch.new_table), q(old_name)) } }
end

function R.rename_column(ch)
  local up = comment(("Inferred rename: column '%s.%s' was dropped and '%s' added with the same type. " ..
                      "If they are different columns, replace this with drop_column + add_column " ..
                      "(or run autogenerate with --no-renames)."):format(ch.table, ch.column, ch.new_name))
  up[#up + 1] = call("alter_column", q(ch.table), q(ch.column), "{ new_name = " .. q(ch.new_name) .. " }")
  return { up = up, down = { call("alter_column", q(ch.table), q(ch.new_name), "{ new_name = " .. q(ch.column) .. " }") } }
end

function R.add_column(ch, d, opts)
  local c = ch.col
  local down = { call("drop_column", q(ch.table), q(c.name)) }
  local comment_line
  if d == "postgresql" and c.comment then
    comment_line = call("alter_column", q(ch.table), q(c.name), "{ comment = " .. q(c.comment) .. " }")
  end
  if d == "postgresql" and opts.safe ~= false and ch.existing and c.nullable == false and not c.server_default
     and not c.autoincrement then
    local up = comment(("Safe form (PostgreSQL): '%s.%s' is NOT NULL without a default on an existing table. " ..
      "Adding it NOT NULL would fail on a table with rows, so it is added nullable here, filled in by " ..
      "this revision's data phase (complete the op.backfill there), and made NOT NULL by the next " ..
      "revision."):format(ch.table, c.name))
    up[#up + 1] = call("add_column", q(ch.table), colspec(d, nil, c, { force_nullable = true }))
    up[#up + 1] = comment_line
    local key = ch.pk or "id"
    local data = comment(("Fill '%s.%s' for the rows already there: write its value in `set` " ..
      "(SQL; the other columns may be used), then delete the error() line. The backfill runs in " ..
      "batches with a checkpoint, so an interrupted run resumes."):format(ch.table, c.name))
    if not ch.pk then
      data[#data + 1] = ("-- The table has no single-column primary key: set `key` to a unique, indexed column.")
    end
    data[#data + 1] = ("error(%s)"):format(q(("revision data phase: fill in the backfill of %s.%s " ..
      "(see the comment above) before applying this revision"):format(ch.table, c.name)))
    data[#data + 1] = ("op.backfill{ table = %s, key = %s, set = %s, where = %s }"):format(q(ch.table), q(key),
      q(ident(c.name) .. " = NULL"), q(ident(c.name) .. " IS NULL"))
    local up2 = comment(("Safe form, last step: every row of '%s' has a value for '%s' now " ..
      "(the previous revision's data phase); enforce NOT NULL."):format(ch.table, c.name))
    up2[#up2 + 1] = call("alter_column", q(ch.table), q(c.name), "{ nullable = false }")
    return { up = up, down = down, data = data, up2 = up2,
             down2 = { call("alter_column", q(ch.table), q(c.name), "{ nullable = true }") } }
  end
  return { up = { call("add_column", q(ch.table), colspec(d, nil, c, {})), comment_line }, down = down }
end

function R.drop_column(ch, d)
  local c = ch.col
  local down = { call("add_column", q(ch.table), colspec(d, nil, c, { reflected = true })) }
  if d == "postgresql" and c.comment then
    down[#down + 1] = call("alter_column", q(ch.table), q(c.name), "{ comment = " .. q(c.comment) .. " }")
  end
  return { up = { call("drop_column", q(ch.table), q(c.name)) }, down = down }
end

function R.alter_column(ch, d)
  local up_o, down_o = {}, {}
  local function put(k, to, from)
    up_o[#up_o + 1] = k .. " = " .. to
    down_o[#down_o + 1] = k .. " = " .. from
  end
  if ch.type then put("type", q(ch.type.to), q(model.portable(d, ch.type.from))) end
  if ch.nullable then put("nullable", tostring(ch.nullable.to), tostring(ch.nullable.from)) end
  if ch.server_default then
    put("server_default", ch.server_default.to and q(ch.server_default.to) or "false",
        ch.server_default.from and q(ch.server_default.from) or "false")
  end
  if ch.comment then
    put("comment", ch.comment.to and q(ch.comment.to) or "false", ch.comment.from and q(ch.comment.from) or "false")
  end
  local up = {}
  if ch.type and d == "postgresql" then
    up = comment("Type change: PostgreSQL converts the values with an implicit cast; if it has none, " ..
                 "add `using = \"<expression>\"` to this call.")
  end
  up[#up + 1] = call("alter_column", q(ch.table), q(ch.column), "{ " .. table.concat(up_o, ", ") .. " }")
  return { up = up, down = { call("alter_column", q(ch.table), q(ch.column), "{ " .. table.concat(down_o, ", ") .. " }") } }
end

-- A drop by name of a constraint the database did not name (SQLite):
-- op.drop_constraint cannot find it, so the line stops the revision with
-- what to do.
local function unnamed(what, key)
  return ("error(%s)"):format(q(("%s on %s has no name in the database, so op.drop_constraint cannot drop it: " ..
    "rewrite this step by hand (SQLite: a table rebuild with op.execute)"):format(what, key)))
end

function R.add_pk(ch, d)
  local name = ch.pk.name or gen_name(d, "pk", ch.table)
  return { up = { call("create_primary_key", q(name), q(ch.table), lua_value(ch.pk.columns)) },
           down = { call("drop_constraint", q(name), q(ch.table), '{ type_ = "primary" }') } }
end

function R.drop_pk(ch, d)
  local name = ch.pk.name
  return { up = { name and call("drop_constraint", q(name), q(ch.table), '{ type_ = "primary" }') or unnamed("the primary key", ch.table) },
           down = { call("create_primary_key", q(name or gen_name(d, "pk", ch.table)), q(ch.table), lua_value(ch.pk.columns)) } }
end

function R.add_unique(ch, d)
  local name = ch.unique.name or gen_name(d, "uq", ch.table, ch.unique.columns)
  return { up = { call("create_unique_constraint", q(name), q(ch.table), lua_value(ch.unique.columns)) },
           down = { call("drop_constraint", q(name), q(ch.table), '{ type_ = "unique" }') } }
end

function R.drop_unique(ch, d)
  local u = ch.unique
  return { up = { u.name and call("drop_constraint", q(u.name), q(ch.table), '{ type_ = "unique" }')
                  or unnamed("the unique constraint (" .. table.concat(u.columns, ", ") .. ")", ch.table) },
           down = { call("create_unique_constraint", q(u.name or gen_name(d, "uq", ch.table, u.columns)), q(ch.table),
                         lua_value(u.columns)) } }
end

local function fk_sql(key, name, fk)
  local s = ("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY %s REFERENCES %s %s"):format(ident(key), ident(name),
    ident_list(fk.columns), ident(fk.ref_key), ident_list(fk.ref_columns))
  if fk.on_delete then s = s .. " ON DELETE " .. fk.on_delete end
  if fk.on_update then s = s .. " ON UPDATE " .. fk.on_update end
  return s
end

-- NOT VALID now, VALIDATE in the second revision (PostgreSQL, existing table).
local function not_valid(ch, what, name, add_sql)
  local up = comment(("Safe form (PostgreSQL): the %s is added NOT VALID, which checks new rows only " ..
    "and does not scan '%s' while holding its ACCESS EXCLUSIVE lock; the next revision validates the " ..
    "existing rows under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on."):format(what, ch.table))
  up[#up + 1] = ("op.execute(%s)"):format(q(add_sql .. " NOT VALID"))
  local up2 = comment(("Safe form, second step: validate %s '%s' on the existing rows."):format(what, name))
  up2[#up2 + 1] = ("op.execute(%s)"):format(q(("ALTER TABLE %s VALIDATE CONSTRAINT %s"):format(ident(ch.table), ident(name))))
  return up, up2
end

function R.add_fk(ch, d, opts)
  local fk = ch.fk
  local name = fk.name or gen_name(d, "fk", ch.table, fk.columns, fk.ref_table)
  local down = { call("drop_constraint", q(name), q(ch.table), '{ type_ = "foreignkey" }') }
  if d == "postgresql" and opts.safe ~= false and ch.existing then
    local up, up2 = not_valid(ch, "foreign key", name, fk_sql(ch.table, name, fk))
    return { up = up, down = down, up2 = up2, down2 = { "-- nothing to undo: validation changes no schema" } }
  end
  return { up = { call("create_foreign_key", q(name), q(ch.table), q(fk.ref_key), lua_value(fk.columns),
                       lua_value(fk.ref_columns), options(fk, { "on_delete", "on_update" })) }, down = down }
end

function R.drop_fk(ch, d)
  local fk = ch.fk
  return { up = { fk.name and call("drop_constraint", q(fk.name), q(ch.table), '{ type_ = "foreignkey" }')
                  or unnamed("the foreign key (" .. table.concat(fk.columns, ", ") .. ")", ch.table) },
           down = { call("create_foreign_key", q(fk.name or gen_name(d, "fk", ch.table, fk.columns, fk.ref_table)),
                         q(ch.table), q(fk.ref_key), lua_value(fk.columns), lua_value(fk.ref_columns),
                         options(fk, { "on_delete", "on_update" })) } }
end

function R.add_check(ch, d, opts)
  local ck = ch.check
  local name = ck.name or gen_name(d, "ck", ch.table, nil, "1")
  local down = { call("drop_constraint", q(name), q(ch.table), '{ type_ = "check" }') }
  if d == "postgresql" and opts.safe ~= false and ch.existing then
    local up, up2 = not_valid(ch, "check constraint", name,
      ("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)"):format(ident(ch.table), ident(name), ck.sql))
    return { up = up, down = down, up2 = up2, down2 = { "-- nothing to undo: validation changes no schema" } }
  end
  return { up = { call("create_check_constraint", q(name), q(ch.table), q(ck.sql)) }, down = down }
end

function R.drop_check(ch, d)
  local ck = ch.check
  return { up = { ck.name and call("drop_constraint", q(ck.name), q(ch.table), '{ type_ = "check" }')
                  or unnamed("the check constraint (" .. ck.sql .. ")", ch.table) },
           down = { call("create_check_constraint", q(ck.name or gen_name(d, "ck", ch.table, nil, "1")), q(ch.table), q(ck.sql)) } }
end

local function index_opts(ix, extra)
  local o = { unique = ix.unique or nil, where = ix.where }
  for k, v in pairs(extra or {}) do o[k] = v end
  return options(o, { "unique", "where", "concurrently" })
end

function R.add_index(ch, d, opts)
  local ix = ch.index
  local drop_opts = { table = ch.table }
  if d == "postgresql" and opts.safe ~= false and ch.existing then
    local up2 = comment(("Safe form (PostgreSQL): index '%s' is on an existing table, so it is built " ..
      "CONCURRENTLY, without blocking writes; that cannot run inside a transaction, hence this separate " ..
      "revision with transactional = false. If it fails it leaves an INVALID index: drop it and run " ..
      "upgrade again."):format(ix.name))
    up2[#up2 + 1] = call("create_index", q(ix.name), q(ch.table), lua_value(ix.columns), index_opts(ix, { concurrently = true }))
    return { up = {}, down = {}, up2 = up2, concurrent = true,
             down2 = { call("drop_index", q(ix.name), options({ table = ch.table, concurrently = true }, { "table", "concurrently" })) } }
  end
  return { up = { call("create_index", q(ix.name), q(ch.table), lua_value(ix.columns), index_opts(ix)) },
           down = { call("drop_index", q(ix.name), options(drop_opts, { "table" })) } }
end

function R.drop_index(ch)
  local ix = ch.index
  return { up = { call("drop_index", q(ix.name), options({ table = ch.table }, { "table" })) },
           down = { call("create_index", q(ix.name), q(ch.table), lua_value(ix.columns), index_opts(ix)) } }
end

function R.table_comment(ch)
  local function set(text)
    if text then return call("create_table_comment", q(ch.table), q(text)) end
    return call("drop_table_comment", q(ch.table))
  end
  return { up = { set(ch.to) }, down = { set(ch.from) } }
end

-- Notes are rendered as comments only.
local function note(ch)
  local lines = comment("lmigrate autogenerate: " .. ch.summary .. ".")
  return { up = lines, down = {} }
end
R.uncomparable_default, R.uncomparable_check, R.uncomparable_index = note, note, note

-- ---------- assembling revisions ----------

local function body(lines)
  local out = {}
  for _, l in ipairs(lines) do
    if l ~= nil then out[#out + 1] = IND .. l end
  end
  if #out == 0 then return "" end
  return table.concat(out, "\n") .. "\n"
end

-- render(changes, opts) -> { revisions = { ... } } (see the header).
-- opts: dialect (default changes.dialect), safe (default true).
function M.render(changes, opts)
  opts = opts or {}
  local d = opts.dialect or changes.dialect or "sqlite"
  local up, downs, data, up2, downs2 = {}, {}, {}, {}, {}
  local concurrent = false
  local comments1, comments2 = {}, {}
  for _, ch in ipairs(changes) do
    local fn = R[ch.kind]
    if not fn then error("lmigrate.render: unknown change kind " .. tostring(ch.kind)) end
    local r = fn(ch, d, opts)
    for _, l in ipairs(r.up) do up[#up + 1] = l end
    downs[#downs + 1] = r.down
    if r.data then
      for _, l in ipairs(r.data) do data[#data + 1] = l end
      comments1[#comments1 + 1] = ("%s: NOT NULL column added in three steps (add nullable, backfill in the data phase, then NOT NULL)"):format(ch.table .. "." .. ch.column)
    end
    if r.up2 then
      for _, l in ipairs(r.up2) do up2[#up2 + 1] = l end
      downs2[#downs2 + 1] = r.down2
      if r.concurrent then
        concurrent = true
        comments2[#comments2 + 1] = ("index %s built CONCURRENTLY (non-transactional revision)"):format(ch.index.name)
      elseif ch.kind == "add_fk" or ch.kind == "add_check" then
        comments2[#comments2 + 1] = ("%s on %s validated separately (added NOT VALID)"):format(ch.kind == "add_fk" and "foreign key" or "check", ch.table)
      end
    end
  end
  local function reverse(list)
    local out = {}
    for i = #list, 1, -1 do for _, l in ipairs(list[i]) do out[#out + 1] = l end end
    return out
  end
  local rev1 = { upgrade = body(up), downgrade = body(reverse(downs)), transactional = true, comments = comments1 }
  if #data > 0 then rev1.data = body(data) end
  local revs = { rev1 }
  if #up2 > 0 then
    revs[2] = { upgrade = body(up2), downgrade = body(reverse(downs2)), transactional = not concurrent,
                comments = comments2, message_suffix = "(second step)" }
    table.insert(rev1.comments, "the second step of these changes is in the next revision")
  end
  return { revisions = revs }
end

return M
