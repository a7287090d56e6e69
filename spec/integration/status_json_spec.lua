-- spec/integration/status_json_spec.lua: `lmigrate status` (states, exit
-- 0/3/4/1), `lmigrate log`, and the --json output of every read command
-- and of upgrade/downgrade events, each decoded with dkjson and checked
-- against the schemas of docs/json.md (spec/support/json_shapes.lua).

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

local function show(r) return r.cmd .. "\n" .. r.out .. r.err end

for _, backend in ipairs(h.each_backend()) do
  describe("status, log and --json #" .. backend, function()
    local dir, url

    local function run(args, env)
      return h.run(args, { cwd = dir, env = env })
    end

    -- A project on an existing, empty database (status and log only read:
    -- they never create a SQLite file).
    local function setup(revs)
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, revs, { config =
        ("return { url = %q, script_location = \"versions\" }\n"):format(url) })
      if backend == "sqlite" then h.write(select(2, h.parse_db(url)), "") end
    end

    local function ids(list)
      local t = {}
      for i, r in ipairs(list) do t[i] = r.revision end
      return t
    end

    it("status: pending on a fresh database (exit 3), up to date at head (exit 0), creates nothing", function()
      setup({ trev("aaa111"), trev("bbb222", "aaa111", { msg = "second one" }) })
      local r = run("status")
      assert.equal(3, r.code, show(r))
      assert.matches("Current:  <base> (nothing applied)", r.out, 1, true)
      assert.matches("Pending:  2 revision(s)", r.out, 1, true)
      assert.matches("bbb222 second one", r.out, 1, true)
      assert.same({}, h.tables(url))
      r = run("status --json")
      assert.equal(3, r.code, show(r))
      local s = J.check(J.decode(r.out), J.status)
      assert.equal("pending", s.state)
      assert.equal(3, s.exit)
      assert.same({}, s.current)
      assert.same({ "aaa111", "bbb222" }, ids(s.pending))

      assert.equal(0, run("upgrade +1").code)
      r = run("status --json")
      assert.equal(3, r.code, show(r))
      s = J.check(J.decode(r.out), J.status)
      assert.same({ "aaa111" }, ids(s.current))
      assert.equal("applied", s.current[1].state)
      assert.same({ "bbb222" }, ids(s.pending))

      assert.equal(0, run("upgrade head").code)
      r = run("status")
      assert.equal(0, r.code, show(r))
      assert.matches("Current:  bbb222 applied, second one", r.out, 1, true)
      assert.matches("Status:   up to date", r.out, 1, true)
      s = J.check(J.decode(run("status --json").out), J.status)
      assert.equal("ok", s.state)
      assert.same({}, s.pending)
    end)

    it("status and validate --json list applied files edited since", function()
      setup({ trev("aaa111"), trev("bbb222", "aaa111") })
      assert.equal(0, run("upgrade head").code)
      local path = dir .. "/versions/aaa111_rev.lua"
      h.write(path, h.read(path) .. "-- edited\n")
      local r = run("status")
      assert.equal(0, r.code, show(r))
      assert.matches("Edited:   1 applied revision(s)", r.out, 1, true)
      assert.matches("aaa111 versions/aaa111_rev.lua", r.out, 1, true)
      local s = J.check(J.decode(run("status --json").out), J.status)
      assert.equal(1, #s.edited)
      assert.equal("aaa111", s.edited[1].revision)
      assert.are_not.equal(s.edited[1].checksum, s.edited[1].applied_checksum)
      r = run("validate --json")
      assert.equal(1, r.code, show(r))
      local v = J.check(J.decode(r.out), J.validate)
      assert.is_false(v.ok)
      assert.equal("versions/aaa111_rev.lua", v.edited[1].path)
    end)

    it("status exit 4 and current --json state 'failed' for a failed non-transactional revision", function()
      setup({ trev("aaa111"),
              rev { id = "bbb222", down = "aaa111", fields = "  transactional = false,",
                    up = 'op.execute("SELEC 1")' } })
      local r = run("upgrade head")
      assert.equal(1, r.code, show(r))
      r = run("status")
      assert.equal(4, r.code, show(r))
      assert.matches("bbb222 FAILED at", r.out, 1, true)
      assert.matches("Status:   BLOCKED", r.out, 1, true)
      local s = J.check(J.decode(run("status --json").out), J.status)
      assert.equal("blocked", s.state)
      assert.equal(4, s.exit)
      r = run("current --json")
      assert.equal(0, r.code, show(r))
      local c = J.check(J.decode(r.out), J.current)
      assert.same({ "aaa111", "bbb222" }, ids(c))
      assert.same({ "applied", "failed" }, { c[1].state, c[2].state })
      assert.matches("^%d%d%d%d%-%d%d%-%d%d ", c[2].failed_at)
    end)

    it("status exit 4 and current --json state 'data' for a revision left in its data phase", function()
      setup({ trev("aaa111"),
              rev { id = "bbb222", down = "aaa111",
                    fields = '  data = function(op) error("data went wrong") end,',
                    up = 'op.add_column("t_aaa111", {"x", "integer"})' } })
      assert.equal(1, run("upgrade head").code)
      local r = run("status")
      assert.equal(4, r.code, show(r))
      assert.matches("bbb222 in data phase", r.out, 1, true)
      local c = J.check(J.decode(run("current --json").out), J.current)
      assert.same({ "aaa111", "bbb222" }, ids(c))
      assert.equal("data", c[2].state)
    end)

    it("status is exit 1 with the error when the version table names an unknown revision", function()
      setup({ trev("aaa111") })
      assert.equal(0, run("upgrade head").code)
      os.remove(dir .. "/versions/aaa111_rev.lua")
      local r = run("status --json")
      assert.equal(1, r.code, show(r))
      assert.equal("", r.out)
      assert.matches("names revision 'aaa111'", r.err, 1, true)
    end)

    it("log prints the history newest first; -n limits; --json has every row", function()
      setup({ trev("aaa111"), trev("bbb222", "aaa111", { msg = "two" }) })
      local r = run("log")
      assert.equal(0, r.code, show(r))
      assert.equal("no history: nothing has been applied yet\n", r.out)
      assert.equal(0, run("upgrade head").code)
      assert.equal(0, run("downgrade -1").code)
      r = run("log")
      assert.equal(0, r.code, show(r))
      local lines = {}
      for l in r.out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal(4, #lines)
      assert.matches("^STARTED %(UTC%)%s+REVISION%s+DIR%s+OUTCOME%s+DURATION%s+RUN BY%s+MESSAGE$", lines[1])
      assert.matches("bbb222%s+down%s+applied", lines[2])
      assert.matches("bbb222%s+up%s+applied", lines[3])
      assert.matches("aaa111%s+up%s+applied", lines[4])
      r = run("log -n 1")
      assert.equal(2, select(2, r.out:gsub("\n", "")))
      local rows = J.check(J.decode(run("log --json").out), J.log)
      assert.equal(3, #rows)
      assert.same({ "bbb222", "bbb222", "aaa111" }, ids(rows))
      assert.same({ "down", "up", "up" }, { rows[1].direction, rows[2].direction, rows[3].direction })
      assert.is_true(rows[1].id > rows[2].id)
      assert.equal("applied", rows[1].outcome)
      rows = J.check(J.decode(run("log -n 2 --json").out), J.log)
      assert.equal(2, #rows)
      r = run("log -n 0")
      assert.equal(2, r.code)
      assert.matches("log -n expects a positive number of rows, got '0'", r.err, 1, true)
    end)

    it("upgrade/downgrade --json stream start, done, error and end events; progress text goes to stderr", function()
      setup({ trev("aaa111"), trev("bbb222", "aaa111"),
              rev { id = "ccc333", down = "bbb222", up = 'op.execute("SELEC 1")' } })
      local r = run("upgrade --json bbb222")
      assert.equal(0, r.code, show(r))
      assert.matches("Running upgrade", r.err, 1, true)
      local ev = J.check_events(r.out)
      local kinds = {}
      for i, e in ipairs(ev) do kinds[i] = e.event .. " " .. (e.revision or e.command) end
      assert.same({ "start aaa111", "done aaa111", "start bbb222", "done bbb222",
                    "end upgrade" }, kinds)
      assert.equal(0, ev[5].exit)
      assert.equal("up", ev[2].direction)

      r = run("upgrade head --json")
      assert.equal(1, r.code, show(r))
      ev = J.check_events(r.out)
      assert.same({ "start", "error", "end" }, { ev[1].event, ev[2].event, ev[3].event })
      assert.equal("ccc333", ev[2].revision)
      assert.equal("schema", ev[2].phase)
      assert.matches("versions/ccc333_rev.lua:5:", ev[2].message, 1, true)
      assert.equal(1, ev[3].exit)

      r = run("downgrade --json -1")
      assert.equal(0, r.code, show(r))
      ev = J.check_events(r.out)
      assert.same({ "start", "done", "end" }, { ev[1].event, ev[2].event, ev[3].event })
      assert.equal("down", ev[2].direction)
      assert.equal("downgrade", ev[3].command)

      r = run("upgrade --json --sql head")
      assert.equal(2, r.code)
      assert.matches("--json and --sql cannot be used together", r.err, 1, true)
    end)

    it("heads, history, show and branches --json follow their schemas", function()
      setup({ trev("aaa111", nil, { fields = '  branch_labels = { "core" },' }),
              trev("bbb222", "aaa111"), trev("ccc333", "aaa111"),
              trev("ddd444", { "bbb222", "ccc333" }, { fields = '  depends_on = "ccc333",' }) })
      assert.equal(0, run("upgrade bbb222").code)
      local t = J.check(J.decode(run("heads --json").out), J.heads)
      assert.same({ "ddd444" }, ids(t))
      assert.is_true(t[1].mergepoint)
      assert.same({ "ccc333" }, t[1].depends_on)
      t = J.check(J.decode(run("history --json").out), J.history)
      assert.equal(4, #t)
      t = J.check(J.decode(run("history -i --json").out), J.history_indicate)
      local cur = {}
      for _, r in ipairs(t) do if r.current then cur[#cur + 1] = r.revision end end
      assert.same({ "bbb222" }, cur)
      t = J.check(J.decode(run("show --json core").out), J.show)
      assert.same({ "aaa111" }, ids(t))
      assert.same({ "core" }, t[1].branch_labels)
      assert.is_true(t[1].branchpoint)
      t = J.check(J.decode(run("branches --json").out), J.branches)
      assert.same({ "aaa111" }, ids(t))
      assert.same({ "bbb222", "ccc333" }, ids(t[1].children))
      t = J.check(J.decode(run("show --json base").out), J.show)
      assert.same({}, t)
    end)
  end)
end

describe("JSON writer #sqlite", function()
  it("escapes control characters, quotes and invalid UTF-8 so the output parses", function()
    local dir = h.tmpdir()
    h.project(dir, { rev { id = "aaa111", msg = 'tab\there "q" \\ nl\n bell\7 bad\255 ok é' } })
    local r = h.run("heads --json", { cwd = dir })
    assert.equal(0, r.code, r.err)
    local t = J.check(J.decode(r.out), J.heads)
    assert.equal('tab\there "q" \\ nl\n bell\7 bad\u{FFFD} ok é', t[1].message)
  end)
end)
