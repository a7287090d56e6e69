-- spec/helpers/autogen.lua: helpers for the unit specs of the Lua half of
-- autogenerate (lua/lmigrate/schema, model, diff, render, dump).
--
--   A.declared(dialect, text)      the model of a schema file given as text
--   A.empty(dialect)               a model with no tables
--   A.compare(declared, reflected [, opts])
--   A.kinds(changes)               { "add_table", ... } (notes included)
--   A.find(changes, kind)          the first change of that kind
--   A.fn(body)                     a revision body (render output) as function(op)
--   A.sql(dialect, body [, transactional])  the SQL op renders for body (offline)
--   A.apply(db, body [, transactional])     run body's ops on a real SQLite file
--   A.reflect_sqlite(db)           a model of a SQLite file, built from PRAGMAs
--                                  and sqlite_master (a small stand-in for the
--                                  C reflection, so the Lua half can be checked
--                                  end to end: declared -> revision -> database)
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require("lmigrate.core")
local schema = require("lmigrate.schema")
local diff = require("lmigrate.diff")
local h = require("helpers")

local A = {}

function A.declared(dialect, text)
  return schema.load_string(text, dialect, nil, "schema.lua")
end

function A.empty(dialect)
  return { dialect = dialect, default_schema = dialect == "postgresql" and "public" or nil,
           schemas = {}, tables = {} }
end

function A.compare(d, r, opts) return diff.compare(d, r, opts) end

function A.kinds(changes)
  local out = {}
  for i, ch in ipairs(changes) do out[i] = ch.kind end
  return out
end

function A.find(changes, kind)
  for _, ch in ipairs(changes) do if ch.kind == kind then return ch end end
end

function A.fn(body)
  return assert(load("return function(op)\n" .. body .. "end", "=revision", "t"))()
end

function A.sql(dialect, body, transactional)
  return core.render(dialect, A.fn(body), transactional)
end

function A.apply(db, body, transactional)
  local c = core.connect("sqlite:" .. db)
  local ok, err = pcall(c.run, c, A.fn(body), transactional ~= false)
  c:close()
  if not ok then error(err, 2) end
end

-- ---------- a small SQLite reflection for specs ----------

local function q(s) return h.literal(s) end

local function nilnull(v) if v == h.NULL then return nil end return v end

-- The text between the parentheses opening at s:sub(i, i).
local function balanced(s, i)
  local depth = 0
  for j = i, #s do
    local c = s:sub(j, j)
    if c == "(" then depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
      if depth == 0 then return s:sub(i + 1, j - 1), j end
    elseif c == "'" then
      local k = s:find("'", j + 1, true)
      j = k
    end
  end
end

local function unquote(n) return (n:gsub('^"(.*)"$', "%1"):gsub('""', '"')) end

-- Named constraints and CHECKs in a CREATE TABLE text.
local function parse_constraints(sql)
  local out = { checks = {}, names = {} }
  local body = balanced(sql, sql:find("(", 1, true))
  -- CONSTRAINT "name" KIND
  for name, kind in body:gmatch('CONSTRAINT%s+("?[^"%s]+"?)%s+(%u+)') do
    out.names[#out.names + 1] = { name = unquote(name), kind = kind }
  end
  local pos = 1
  while true do
    local s, e = body:find("CHECK%s*%(", pos)
    if not s then break end
    local text = balanced(body, e)
    local before = body:sub(1, s - 1)
    local name = before:match('CONSTRAINT%s+("?[^"%s]+"?)%s*$')
    out.checks[#out.checks + 1] = { name = name and unquote(name), sql = text }
    pos = e + 1
  end
  return out
end

-- Everything reflect_sqlite needs, in one sqlite3 run: rows tagged
-- T (table), C (column), I (index), X (index column), F (foreign key).
local REFLECT_SQL = [[
WITH t AS (SELECT name, sql FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'lmigrate_%')
SELECT 'T', t.name, t.sql, 0, NULL, NULL, NULL, NULL, NULL FROM t
UNION ALL
SELECT 'C', t.name, c.name, c.cid, c.type, c."notnull", c.dflt_value, c.pk, NULL
  FROM t, pragma_table_info(t.name) c
UNION ALL
SELECT 'I', t.name, il.name, il.seq, il."unique", il.origin, il.partial,
       (SELECT sql FROM sqlite_master WHERE type = 'index' AND name = il.name), NULL
  FROM t, pragma_index_list(t.name) il
UNION ALL
SELECT 'X', il.name, x.name, x.seqno, x.cid, NULL, NULL, NULL, NULL
  FROM t, pragma_index_list(t.name) il, pragma_index_xinfo(il.name) x WHERE x.key = 1
UNION ALL
SELECT 'F', t.name, f."table", f.id * 1000 + f.seq, f."from", f."to", f.on_update, f.on_delete, f.id
  FROM t, pragma_foreign_key_list(t.name) f
ORDER BY 1, 2, 4;
]]

function A.reflect_sqlite(db)
  local m = A.empty("sqlite")
  local rows = { T = {}, C = {}, I = {}, X = {}, F = {} }
  for _, r in ipairs(h.sqlite(db, REFLECT_SQL)) do table.insert(rows[r[1]], r) end
  local xcols = {}
  for _, r in ipairs(rows.X) do
    xcols[r[2]] = xcols[r[2]] or {}
    table.insert(xcols[r[2]], r[5] == "-2" and { expr = "?" } or r[3])
  end
  for _, row in ipairs(rows.T) do
    local name, sql = row[2], row[3]
    local t = { name = name, columns = {}, uniques = {}, indexes = {}, foreign_keys = {}, checks = {} }
    local pk = {}
    for _, c in ipairs(rows.C) do
      if c[2] == name then
        t.columns[#t.columns + 1] = { name = c[3], type = c[5], nullable = c[6] == "0",
          server_default = nilnull(c[7]), autoincrement = false }
        if c[8] ~= "0" then pk[#pk + 1] = { tonumber(c[8]), c[3] } end
      end
    end
    table.sort(pk, function(a, b) return a[1] < b[1] end)
    if #pk > 0 then
      t.primary_key = { columns = {} }
      for i, p in ipairs(pk) do t.primary_key.columns[i] = p[2] end
      if #pk == 1 and sql:upper():find("AUTOINCREMENT", 1, true) then
        for _, c in ipairs(t.columns) do if c.name == pk[1][2] then c.autoincrement = true end end
      end
    end
    local cons = parse_constraints(sql)
    t.checks = cons.checks
    local named = { UNIQUE = {}, FOREIGN = {}, PRIMARY = {} }
    for _, n in ipairs(cons.names) do if named[n.kind] then table.insert(named[n.kind], n.name) end end
    if t.primary_key then t.primary_key.name = named.PRIMARY[1] end
    for _, ix in ipairs(rows.I) do
      if ix[2] == name then
        local cols = xcols[ix[3]] or {}
        if ix[6] == "u" then
          t.uniques[#t.uniques + 1] = { columns = cols }
        elseif ix[6] == "c" then
          local isql = ix[8]
          local where = isql:match("%)%s+WHERE%s+(.*)$")
          local body = balanced(isql, isql:find("(", isql:find(" ON ", 1, true), true))
          local i = 0
          for part in (body .. ","):gmatch("(.-),%s*") do
            i = i + 1
            if type(cols[i]) == "table" then cols[i] = { expr = part } end
          end
          table.insert(t.indexes, 1, { name = ix[3], columns = cols, unique = ix[5] == "1", where = where })
        end
      end
    end
    -- a single named UNIQUE / FOREIGN KEY constraint gets its name (enough
    -- for these specs)
    if #named.UNIQUE == 1 and #t.uniques == 1 then t.uniques[1].name = named.UNIQUE[1] end
    local fks, order = {}, {}
    for _, f in ipairs(rows.F) do
      if f[2] == name then
        local id = f[9]
        if not fks[id] then
          fks[id] = { columns = {}, ref_table = f[3], ref_columns = {},
            on_update = f[7] ~= "NO ACTION" and f[7] or nil, on_delete = f[8] ~= "NO ACTION" and f[8] or nil }
          order[#order + 1] = id
        end
        table.insert(fks[id].columns, f[5])
        table.insert(fks[id].ref_columns, f[6])
      end
    end
    for i = #order, 1, -1 do t.foreign_keys[#t.foreign_keys + 1] = fks[order[i]] end
    if #named.FOREIGN == 1 and #t.foreign_keys == 1 then t.foreign_keys[1].name = named.FOREIGN[1] end
    m.tables[name] = t
  end
  return m
end

return A
