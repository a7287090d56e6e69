-- spec/support/json_shapes.lua: the --json schemas of docs/json.md as Lua
-- data, and a checker. A shape is a type name ("string", "integer",
-- "boolean"; a trailing "?" allows null), { array = shape } or
-- { object = { field = shape, ... } }. Objects are strict: a field the
-- schema does not name is an error, so docs/json.md and the output cannot
-- drift apart. Output is decoded with dkjson (Debian lua-dkjson), with
-- JSON null as json.null so that present-but-null fields stay visible.

local dkjson = require "dkjson"

local M = {}

M.null = dkjson.null

-- Decode one JSON document; errors name the text.
function M.decode(text)
  local v, _, err = dkjson.decode(text, 1, dkjson.null)
  if err then error("not JSON (" .. err .. "): " .. text, 2) end
  return v
end

-- Every non-empty line of text decoded (the event stream).
function M.decode_lines(text)
  local t = {}
  for line in text:gmatch("[^\n]+") do t[#t + 1] = M.decode(line) end
  return t
end

local function merge(a, b)
  local t = {}
  for k, v in pairs(a) do t[k] = v end
  for k, v in pairs(b or {}) do t[k] = v end
  return t
end

local revision_fields = {
  revision = "string", down_revision = { array = "string" },
  depends_on = { array = "string" }, branch_labels = { array = "string" },
  message = "string?", path = "string", create_date = "string?",
  transactional = "boolean", head = "boolean", branchpoint = "boolean",
  mergepoint = "boolean",
}

M.revision = { object = revision_fields }
M.revision_current = { object = merge(revision_fields, { current = "boolean" }) }
M.current_entry = { object = merge(revision_fields,
  { state = "string", failed_at = "string?" }) }
M.branch = { object = merge(revision_fields,
  { children = { array = M.revision } }) }
M.edited = { object = { revision = "string", path = "string",
  checksum = "string", applied_checksum = "string" } }

M.current = { array = M.current_entry }
M.heads = { array = M.revision }
M.history = { array = M.revision }
M.history_indicate = { array = M.revision_current }
M.show = { array = M.revision }
M.branches = { array = M.branch }
M.validate = { object = { ok = "boolean", edited = { array = M.edited } } }
M.status = { object = {
  database = "string", state = "string", exit = "integer",
  current = { array = M.current_entry }, pending = { array = M.revision },
  edited = { array = M.edited } } }
M.log = { array = { object = {
  id = "integer", revision = "string", direction = "string",
  outcome = "string", started_at = "string", duration_ms = "integer?",
  run_by = "string?", message = "string?" } } }

local event_common = { event = "string", time = "string" }
M.events = {
  start = { object = merge(event_common, { revision = "string",
    path = "string", direction = "string", message = "string?" }) },
  done = { object = merge(event_common, { revision = "string",
    path = "string", direction = "string", message = "string?",
    duration_ms = "integer", rows = "integer" }) },
  error = { object = merge(event_common, { revision = "string?",
    path = "string", direction = "string", phase = "string?",
    duration_ms = "integer", message = "string" }) },
  warning = { object = merge(event_common, { revision = "string?",
    path = "string", message = "string" }) },
  ["end"] = { object = merge(event_common, { command = "string",
    exit = "integer" }) },
}

local function fail(path, msg) error(path .. ": " .. msg, 0) end

local function check(v, shape, path)
  if type(shape) == "string" then
    local base, nullable = shape:match("^(%a+)(%??)$")
    if v == dkjson.null or v == nil then
      if nullable == "?" and v == dkjson.null then return end
      fail(path, "expected " .. base .. ", got " ..
           (v == nil and "nothing" or "null"))
    end
    if base == "integer" then
      if math.type(v) ~= "integer" then fail(path, "expected integer, got " .. tostring(v)) end
    elseif type(v) ~= base then
      fail(path, "expected " .. base .. ", got " .. type(v))
    end
  elseif shape.array then
    if type(v) ~= "table" or getmetatable(v) == nil or
       getmetatable(v).__jsontype ~= "array" then
      fail(path, "expected an array")
    end
    for i, e in ipairs(v) do check(e, shape.array, path .. "[" .. i .. "]") end
  elseif shape.object then
    if type(v) ~= "table" or (getmetatable(v) and
       getmetatable(v).__jsontype == "array") then
      fail(path, "expected an object")
    end
    for k, s in pairs(shape.object) do
      if v[k] == nil and not (type(s) == "string" and s:sub(-1) == "?") then
        fail(path, "missing field '" .. k .. "'")
      end
      if v[k] ~= nil then check(v[k], s, path .. "." .. k) end
    end
    for k in pairs(v) do
      if shape.object[k] == nil then fail(path, "field '" .. k .. "' is not in the schema") end
    end
  else
    error("bad shape at " .. path)
  end
end

-- Raise unless v has shape; returns v.
function M.check(v, shape, what)
  check(v, shape, what or "$")
  return v
end

-- Each event line of text checked against its event's shape.
function M.check_events(text)
  local evs = M.decode_lines(text)
  for i, e in ipairs(evs) do
    local s = M.events[e.event]
    if not s then error("event " .. i .. ": unknown event '" .. tostring(e.event) .. "'", 2) end
    check(e, s, "event[" .. i .. "]")
  end
  return evs
end

return M
