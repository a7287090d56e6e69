-- spec/integration/lua_api_spec.lua: the Lua embedding API
-- (lua/lmigrate/init.lua over lmigrate.core.run) under plain lua5.4, as
-- an application would use it: each test runs a Lua program in a project
-- directory that prints its results as JSON (dkjson), which is checked
-- against the same schemas as the CLI's --json (docs/json.md).

local h = require "helpers"
local J = require "support.json_shapes"

local rev = h.rev

local function trev(id, down, extra)
  local r = { id = id, down = down,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
  for k, v in pairs(extra or {}) do r[k] = v end
  return rev(r)
end

-- Run Lua program text in dir under lua5.4 with the repository's lua/ and
-- core.so first on the paths; returns h.run's result.
local function lua(dir, program)
  local file = dir .. "/app.lua"
  h.write(file, program)
  local cpath = os.getenv("LMIGRATE_CPATH") or "./build/lib/?.so"
  cpath = cpath:gsub("^%./", h.root .. "/")
  return h.run({ file }, { cwd = dir, bin = "lua5.4", env = {
    LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
    LUA_CPATH = cpath .. ";;" } })
end

-- The prologue every program starts with: lm, p and out(v) printing v as
-- one JSON line.
local function prologue(open)
  return ([[
local lm = require("lmigrate")
local json = require("dkjson")
local function out(v) print(json.encode(v)) end
local p = lm.open%s
]]):format(open)
end

local function show(r) return r.cmd .. "\n" .. r.out .. r.err end

for _, backend in ipairs(h.each_backend()) do
  describe("Lua API #" .. backend, function()
    local dir, url

    before_each(function()
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111"), trev("bbb222", "aaa111", { msg = "second" }) },
        { config = ("return { url = %q, script_location = \"versions\" }\n"):format(url) })
      -- status and current only read: they never create a SQLite file
      if backend == "sqlite" then h.write(select(2, h.parse_db(url)), "") end
    end)

    it("upgrade, status, current, heads, history, log and downgrade return the JSON's fields", function()
      local r = lua(dir, prologue('{ config = "lmigrate.lua" }') .. [[
out(p:heads())
out(p:status())
out(p:upgrade("head"))
out(p:current())
out(p:history())
out(p:status())
out(p:downgrade("-1"))
out(p:log(2))
]])
      assert.equal(0, r.code, show(r))
      local lines = J.decode_lines(r.out)
      assert.equal(8, #lines)
      J.check(lines[1], J.heads)
      assert.equal("bbb222", lines[1][1].revision)
      local st = J.check(lines[2], J.status)
      assert.equal(3, st.exit)
      local kinds = {}
      for i, e in ipairs(lines[3]) do
        J.check(e, J.events[e.event])
        kinds[i] = e.event .. " " .. (e.revision or e.command)
      end
      assert.same({ "start aaa111", "done aaa111", "start bbb222", "done bbb222", "end upgrade" }, kinds)
      local cur = J.check(lines[4], J.current)
      assert.same({ "bbb222", "applied" }, { cur[1].revision, cur[1].state })
      assert.equal(2, #J.check(lines[5], J.history))
      st = J.check(lines[6], J.status)
      assert.same({ "ok", 0 }, { st.state, st.exit })
      assert.equal("down", lines[7][2].direction)
      assert.version_is(url, "aaa111")
      local log = J.check(lines[8], J.log)
      assert.same({ "bbb222", "down" }, { log[1].revision, log[1].direction })
      assert.equal(2, #log)
      -- nothing printed on the application's stdout or stderr by lmigrate
      assert.equal("", r.err)
    end)

    it("url and script_location work without a config file", function()
      os.remove(dir .. "/lmigrate.lua")
      local r = lua(dir, prologue(("{ url = %q, script_location = \"versions\" }"):format(url)) .. [[
out(p:upgrade("aaa111"))
out(p:current())
]])
      assert.equal(0, r.code, show(r))
      local lines = J.decode_lines(r.out)
      assert.equal("aaa111", lines[2][1].revision)
      assert.version_is(url, "aaa111")
    end)

    it("raises error tables with code, message, file and line; earlier revisions stay", function()
      h.write(dir .. "/versions/ccc333_rev.lua", rev { id = "ccc333", down = "bbb222",
        up = 'op.execute("SELEC 1")' }.text)
      local r = lua(dir, prologue('{ config = "lmigrate.lua" }') .. [[
local ok, e = pcall(p.upgrade, p, "head")
assert(not ok and getmetatable(e) == lm.Error, tostring(e))
out({ code = e.code, message = e.message, file = e.file, line = e.line,
      events = #e.events, last = e.events[#e.events].event, str = tostring(e) })
ok, e = pcall(p.downgrade, p, "zzz999")
out({ code = e.code, message = e.message })
ok, e = pcall(lm.open, { bogus = 1 })
out({ ok = ok, message = e })
]])
      assert.equal(0, r.code, show(r))
      local lines = J.decode_lines(r.out)
      assert.equal(1, lines[1].code)
      assert.equal("versions/ccc333_rev.lua", lines[1].file)
      assert.equal(5, lines[1].line)
      assert.matches("SELEC", lines[1].message, 1, true)
      assert.equal("end", lines[1].last)
      assert.equal(7, lines[1].events)   -- start/done x2, start, error, end
      assert.matches("^lmigrate: versions/ccc333_rev.lua:5:", lines[1].str)
      assert.version_is(url, "bbb222")
      assert.equal(1, lines[2].code)
      assert.matches("zzz999", lines[2].message, 1, true)
      assert.is_false(lines[3].ok)
      assert.matches("unknown option 'bogus'", lines[3].message, 1, true)
    end)
  end)
end
