-- lmigrate: run a project's migrations from a Lua application, without
-- shelling out (docs/lua-api.md).
--
--   local lm = require("lmigrate")
--   local p = lm.open{ config = "lmigrate.lua" }          -- or url = ..., script_location = ...
--   local events = p:upgrade("head")
--   local st = p:status()
--
-- Every method returns Lua tables with the fields of the matching
-- `--json` output (docs/json.md) and raises errors as tables
-- { code =, message =, file =, line =, output = } (tostring gives the
-- message). The C core (lmigrate.core) does the work in a fresh host per
-- call, so a project object holds no connection between calls.

local core = require("lmigrate.core")

local M = { _VERSION = "lmigrate " .. core.version }

local Error = {}
Error.__index = Error
Error.__tostring = function(e)
  return "lmigrate: " .. tostring(e.message)
end
M.Error = Error

local Project = {}
Project.__index = Project

local OPTION_TYPES = { config = "string", url = "string",
                       script_location = "string", x = "table" }

-- lm.open{ config = PATH } or lm.open{ url = URL, script_location = DIR }
-- (both may be given: url and script_location then override the config's);
-- x = { KEY = VALUE } is what -x KEY=VALUE gives revisions as op.x.
function M.open(opts)
  if type(opts) ~= "table" then
    error("lmigrate.open: expected a table of options, got " .. type(opts), 2)
  end
  local copy = {}
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k]
    if want == nil then
      error(("lmigrate.open: unknown option '%s' (expected config, url, " ..
             "script_location, x)"):format(tostring(k)), 2)
    end
    if type(v) ~= want then
      error(("lmigrate.open: option '%s' must be a %s, got %s"):format(
        k, want, type(v)), 2)
    end
    copy[k] = v
  end
  if copy.config == nil and copy.url == nil then
    error("lmigrate.open: give config = PATH or url = URL", 2)
  end
  return setmetatable({ options = copy, warnings = {} }, Project)
end

-- Run one command through the core; errors become Error tables raised at
-- the caller's level. Messages the command printed (warnings) are kept in
-- p.warnings (the last call's).
local function call(self, command, arg)
  local ok, result, messages = pcall(core.run, self.options, command, arg)
  if not ok then
    if type(result) == "table" then
      setmetatable(result, Error)
      self.warnings = { result.output }
    end
    error(result, 3)
  end
  self.warnings = {}
  for line in messages:gmatch("[^\n]+") do
    self.warnings[#self.warnings + 1] = line
  end
  return result
end

-- Apply revisions up to target (default "head"); returns the list of
-- events (start, done, warning, end) as `upgrade --json` prints them.
function Project:upgrade(target)
  return call(self, "upgrade", target or "head")
end

-- Revert down to target ("-1", "base", a revision); returns the events.
function Project:downgrade(target)
  if target == nil then error("downgrade: target expected (e.g. \"-1\")", 2) end
  return call(self, "downgrade", target)
end

-- The current entries: { { revision =, state = "applied"|"failed"|"data", ... } }
function Project:current() return call(self, "current") end

-- The heads of the revision graph (revision objects); no database needed.
function Project:heads() return call(self, "heads") end

-- Revisions newest first, optionally limited by a range ("a1:b2").
function Project:history(range) return call(self, "history", range) end

-- The status object; st.exit is 0 (up to date), 3 (pending), 4 (blocked).
function Project:status() return call(self, "status") end

-- History rows, newest first (n: the newest n only).
function Project:log(n)
  if n ~= nil and (math.type(n) ~= "integer" or n < 1) then
    error("log: n must be a positive integer", 2)
  end
  return call(self, "log", n and tostring(n) or nil)
end

return M
