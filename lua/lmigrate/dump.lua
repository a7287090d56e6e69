-- lmigrate.dump: a model (usually reflected from a live database) written
-- as a schema file in the builder form (lmigrate.schema), for
-- `lmigrate schema dump`.
--
-- The text is meant to be read and kept: tables in name order, one column
-- per line, types in their portable spelling where one maps back exactly
-- ("character varying(255)" -> "string(255)"), single-column keys, unique
-- constraints and foreign keys inline in the column spec when unnamed, and
-- everything else as the s.create_* call op would take. Loading the text
-- back (lmigrate.schema) gives a model that lmigrate.diff finds equal to
-- the one dumped.

local model = require("lmigrate.model")
local render = require("lmigrate.render")

local M = {}

local q = render.q

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Turn render's "op.x(" lines into "s.x(" lines.
local function as_builder(lines)
  local out = {}
  for i, l in ipairs(lines) do out[i] = (l:gsub("^op%.", "s.")) end
  return out
end

-- Does a primary key column keep autoincrement in the builder? Only a
-- single integer primary key may be autoincrement.
local function fix_autoincrement(t)
  local single = t.primary_key and #t.primary_key.columns == 1 and t.primary_key.columns[1]
  for _, c in ipairs(t.columns) do
    if c.autoincrement and c.name ~= single then c.autoincrement = false end
  end
end

-- PostgreSQL's own names for unnamed constraints: <table>_<cols>_key,
-- <table>_<cols>_fkey. A constraint with such a name is written inline
-- (unique = true, references = ...), as its author most likely did.
local function pg_default_name(t, cols, suffix)
  return t.name .. "_" .. table.concat(cols, "_") .. "_" .. suffix
end

-- A literal default with the cast PostgreSQL added ('x'::text) is written
-- as the literal alone: it means the same on the column.
local function strip_literal_cast(def)
  local lit = def:match("^('[^']*')::[%a_][%w_ ]*$")
  return lit or def
end

-- dump(m [, opts]) -> schema file text. opts.header: a first comment line.
function M.dump(m, opts)
  opts = opts or {}
  local d = m.dialect
  local lines = {}
  local function add(l) lines[#lines + 1] = l end
  add("-- " .. (opts.header or ("Schema dumped by lmigrate from a " .. d .. " database.")))
  add("-- Declares the desired end state; edit it, then `lmigrate revision --autogenerate -m MSG`.")
  add("local s = ...")
  for _, sch in ipairs(m.schemas or {}) do
    add("")
    add(("s.create_schema(%s)"):format(q(sch)))
  end
  for _, key in ipairs(sorted_keys(m.tables)) do
    local t = model.copy(m.tables[key])
    t.uniques, t.indexes, t.foreign_keys, t.checks = t.uniques or {}, t.indexes or {}, t.foreign_keys or {}, t.checks or {}
    local single_pk = t.primary_key and #t.primary_key.columns == 1 and t.primary_key.columns[1]
    if d == "postgresql" then
      for _, c in ipairs(t.columns) do
        -- a serial primary key is declared as autoincrement (an identity);
        -- any other nextval() default stays as written
        if c.name == single_pk and c.server_default and c.server_default:match("^%s*nextval%(") then
          local nt = model.type_norm(d, c.type)
          if nt == "integer" or nt == "bigint" or nt == "smallint" then
            c.server_default = nil
            c.autoincrement = true
          end
        end
      end
    end
    fix_autoincrement(t)
    if d == "postgresql" then
      for _, c in ipairs(t.columns) do
        if c.server_default then c.server_default = strip_literal_cast(c.server_default) end
      end
      for _, u in ipairs(t.uniques) do
        if #u.columns == 1 and u.name == pg_default_name(t, u.columns, "key") then u.name = nil end
      end
      for _, fk in ipairs(t.foreign_keys) do
        if #fk.columns == 1 and fk.name == pg_default_name(t, fk.columns, "fkey") then fk.name = nil end
      end
    end
    for _, fk in ipairs(t.foreign_keys) do
      if fk.ref_schema == m.default_schema then fk.ref_schema = nil end
      fk.ref_key = fk.ref_schema and (fk.ref_schema .. "." .. fk.ref_table) or fk.ref_table
      if fk.on_delete == "NO ACTION" then fk.on_delete = nil end
      if fk.on_update == "NO ACTION" then fk.on_update = nil end
    end
    -- every check needs a name in the builder
    for i, ck in ipairs(t.checks) do
      if not ck.name then ck.name = render.gen_name(d, "ck", key, nil, tostring(i)) end
    end
    add("")
    for _, l in ipairs(as_builder(render.create_table_lines(d, key, t, true))) do add(l) end
  end
  return table.concat(lines, "\n") .. "\n"
end

return M
