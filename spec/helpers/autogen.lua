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

function A.reflect_sqlite(db)
  local m = A.empty("sqlite")
  local rows = h.sqlite(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' " ..
    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'lmigrate_%' ORDER BY name")
  for _, row in ipairs(rows) do
    local name, sql = row[1], row[2]
    local t = { name = name, columns = {}, uniques = {}, indexes = {}, foreign_keys = {}, checks = {} }
    local pk = {}
    for _, c in ipairs(h.sqlite(db, ("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(%s) ORDER BY cid"):format(q(name)))) do
      t.columns[#t.columns + 1] = { name = c[1], type = c[2], nullable = c[3] == "0",
        server_default = nilnull(c[4]), autoincrement = false }
      if c[5] ~= "0" then pk[#pk + 1] = { tonumber(c[5]), c[1] } end
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
    -- indexes and unique constraints
    local uq_i = 0
    for _, ix in ipairs(h.sqlite(db, ("SELECT name, \"unique\", origin, partial FROM pragma_index_list(%s) ORDER BY seq DESC"):format(q(name)))) do
      local cols = {}
      for _, c in ipairs(h.sqlite(db, ("SELECT cid, name FROM pragma_index_xinfo(%s) WHERE key = 1 ORDER BY seqno"):format(q(ix[1])))) do
        cols[#cols + 1] = c[1] == "-2" and { expr = "?" } or c[2]
      end
      if ix[3] == "u" then
        uq_i = uq_i + 1
        t.uniques[#t.uniques + 1] = { columns = cols }
      elseif ix[3] == "c" then
        local isql = h.sqlite(db, ("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s"):format(q(ix[1])))[1][1]
        local where = isql:match("%)%s+WHERE%s+(.*)$")
        local body = balanced(isql, isql:find("(", isql:find(" ON ", 1, true), true))
        local i = 0
        for part in (body .. ","):gmatch("(.-),%s*") do
          i = i + 1
          if type(cols[i]) == "table" then cols[i] = { expr = part } end
        end
        t.indexes[#t.indexes + 1] = { name = ix[1], columns = cols, unique = ix[2] == "1", where = where }
      end
    end
    -- named UNIQUE constraints: match the names in text order to uniques
    -- with more than... (kept simple: a single named unique gets its name)
    if #named.UNIQUE == 1 and #t.uniques == 1 then t.uniques[1].name = named.UNIQUE[1] end
    local fks = {}
    for _, f in ipairs(h.sqlite(db, ("SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(%s) ORDER BY id, seq"):format(q(name)))) do
      local id = tonumber(f[1])
      if not fks[id + 1] then
        fks[id + 1] = { columns = {}, ref_table = f[3], ref_columns = {},
          on_update = f[6] ~= "NO ACTION" and f[6] or nil, on_delete = f[7] ~= "NO ACTION" and f[7] or nil }
      end
      table.insert(fks[id + 1].columns, f[4])
      table.insert(fks[id + 1].ref_columns, f[5])
    end
    for i = #fks, 1, -1 do t.foreign_keys[#t.foreign_keys + 1] = fks[i] end
    if #named.FOREIGN == 1 and #t.foreign_keys == 1 then t.foreign_keys[1].name = named.FOREIGN[1] end
    m.tables[name] = t
  end
  return m
end

return A
