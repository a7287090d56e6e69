-- lmigrate.autogen: the entry points the C commands (`revision
-- --autogenerate`, `check`, `schema dump`) call; the API is fixed by
-- /work/issue11-contract.md.
--
--   load_schema(path, dialect, default_schema) -> declared model
--   compare(declared, reflected, opts)          -> changes
--   describe(changes)                           -> { "Detected ...", ... }
--   render(changes, opts)                       -> { revisions = { ... } }
--   dump(model)                                 -> schema file text
--   to_json(changes)                            -> JSON text
--   has_differences(changes)                    -> bool (notes do not count)
--
-- The work is done by lmigrate.schema (the builder), lmigrate.model
-- (normalisation), lmigrate.diff, lmigrate.render and lmigrate.dump.

local schema = require("lmigrate.schema")
local diff = require("lmigrate.diff")
local render = require("lmigrate.render")
local dump = require("lmigrate.dump")

local M = {}

function M.load_schema(path, dialect, default_schema)
  return schema.load(path, dialect, default_schema)
end

function M.compare(declared, reflected, opts)
  return diff.compare(declared, reflected, opts)
end

function M.describe(changes)
  return diff.describe(changes)
end

function M.has_differences(changes)
  return diff.has_differences(changes)
end

function M.render(changes, opts)
  return render.render(changes, opts)
end

function M.dump(m, opts)
  return dump.dump(m, opts)
end

-- ---------- JSON ----------

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    if c == "\t" then return "\\t" end
    if c == "\r" then return "\\r" end
    return ("\\u%04x"):format(c:byte())
  end) .. '"'
end

-- The fields of a change that go into JSON (the model tables it carries
-- for rendering stay out).
local JSON_FIELDS = { "kind", "table", "column", "new_name", "new_table", "schema", "name",
                      "inferred", "info", "existing", "summary" }

-- to_json(changes) -> '{"differences":N,"changes":[{...},...]}' with, per
-- change, kind, table, column, ... and summary (the describe() text
-- without "Detected ").
function M.to_json(changes)
  local items = {}
  local n = 0
  for _, ch in ipairs(changes) do
    local parts = {}
    if not ch.info then n = n + 1 end
    for _, k in ipairs(JSON_FIELDS) do
      local v = ch[k]
      if k == "name" and v == nil then
        local obj = ch.index or ch.unique or ch.fk or ch.check or ch.pk
        v = obj and obj.name
      end
      if v ~= nil then
        local jv
        if type(v) == "string" then jv = json_string(v)
        elseif type(v) == "boolean" then jv = tostring(v)
        end
        if jv then parts[#parts + 1] = json_string(k) .. ":" .. jv end
      end
    end
    items[#items + 1] = "{" .. table.concat(parts, ",") .. "}"
  end
  return '{"differences":' .. n .. ',"changes":[' .. table.concat(items, ",") .. "]}"
end

return M
