-- spec/integration/failures_spec.lua: a revision that fails at run time:
-- the error names file:line, that revision is rolled back whole, earlier
-- ones stay applied, and history records the failure.

local h = require "helpers"

local rev = h.rev

-- A revision that creates table t_<id> and drops it on downgrade.
local function trev(id, down, extra)
  local r = { id = id, down = down,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
  for k, v in pairs(extra or {}) do r[k] = v end
  return rev(r)
end

local setup = h.setup
local run = h.run_in

-- The t_* tables of db, sorted (what the trev revisions created).
local function ttables(url)
  local t = {}
  for _, name in ipairs(h.tables(url)) do
    if name:match("^t_") then t[#t + 1] = name end
  end
  return t
end

local history = h.history

-- Lines of s as a list (no trailing empty line).
local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

for _, backend in ipairs(h.each_backend()) do
  describe("failing revisions [" .. backend .. "] #integration #" .. backend, function()
    -- bbb222 creates a table, then fails on line 7
    local function failing(body)
      return { file = "bbb222_fails.lua", text = table.concat({
        "-- fails part-way",
        "return {",
        '  revision = "bbb222",',
        '  down_revision = "aaa111",',
        "  upgrade = function(op)",
        '    op.create_table("half", {"id", "integer", primary_key = true})',
        "    " .. body,
        "  end,",
        '  downgrade = function(op) op.drop_table("half") end,',
        "}", "" }, "\n") }
    end

    local function revs(body)
      return { trev("aaa111", nil), failing(body), trev("ccc333", "bbb222") }
    end

    it("error() in upgrade: exit 1, file:line, rolled back, earlier kept", function()
      local dir, url = setup(backend, revs('error("boom")'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      local err = lines(r.err)
      assert.equal("lmigrate: error: versions/bbb222_fails.lua:7: boom", err[1])
      assert.matches("^lmigrate: error: revision bbb222 %(versions/bbb222_fails.lua%) " ..
        "failed and was rolled back; revisions before it stay applied$", err[2])
      assert.matches("Running upgrade  %-> aaa111", r.out)
      -- bbb222 started (its start line) but never finished (no duration)
      assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
      assert.not_matches("bbb222[^\n]*\n  done in", r.out)
      assert.has_table(url, "t_aaa111")
      assert.has_no_table(url, "half")
      assert.has_no_table(url, "t_ccc333")
      assert.version_is(url, "aaa111")
      assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    end)

    it("a SQL error via op.execute names file:line and the database's message", function()
      local dir, url = setup(backend, revs('op.execute("INSERT INTO no_such_table (x) VALUES (1)")'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      local first = lines(r.err)[1]
      assert.matches("^lmigrate: error: versions/bbb222_fails.lua:7: ", first)
      assert.matches("no_such_table", first)
      assert.has_no_table(url, "half")
      assert.version_is(url, "aaa111")
      assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    end)

    it("an error raised with a table value still reports something useful", function()
      local dir, url = setup(backend, revs('error({ code = 42 })'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: ", r.err)
      assert.version_is(url, "aaa111")
    end)

    it("a failed revision can be fixed and re-run", function()
      local dir, url = setup(backend, revs('error("boom")'))
      assert.equal(1, run(dir, "upgrade head").code)
      h.write(dir .. "/versions/bbb222_fails.lua", failing("-- fixed").text)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
      assert.has_table(url, "half")
      assert.same({ "aaa111 up applied", "bbb222 up failed",
                    "bbb222 up applied", "ccc333 up applied" }, history(url))
    end)

    it("calling an op with bad arguments names the revision's line", function()
      local dir, url = setup(backend, revs('op.create_table()'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/bbb222_fails.lua:7: .*create_table", r.err)
      assert.version_is(url, "aaa111")
    end)

    it("transaction_per_migration = false rolls back the whole run", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, revs('error("boom")'), { config =
        ("return { url = %q, transaction_per_migration = false }\n"):format(url) })
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/bbb222_fails.lua:7: boom\n", r.err)
      assert.matches("the whole run was rolled back", r.err)
      assert.has_no_table(url, "t_aaa111")
      assert.has_no_table(url, "half")
      assert.version_is(url, {})
    end)

    it("transaction_per_migration = false applies a good run in one go", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, revs("-- fine"), { config =
        ("return { url = %q, transaction_per_migration = false }\n"):format(url) })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.equal(6, #lines(r.out), r.out)
      assert.version_is(url, "ccc333")
      assert.same({ "t_aaa111", "t_ccc333" }, ttables(url))
      assert.has_table(url, "half")
      assert.same({ "aaa111 up applied", "bbb222 up applied", "ccc333 up applied" },
        history(url))
    end)

    it("a revision reading an unknown global fails at run time naming it", function()
      local dir, url = setup(backend, revs('opp.create_table("x", {"id", "integer"})'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: versions/bbb222_fails.lua:7: unknown global 'opp'",
        lines(r.err)[1])
      assert.version_is(url, "aaa111")
      assert.has_no_table(url, "half")
    end)

    it("a revision assigning a global at run time fails naming it", function()
      local dir, url = setup(backend, revs('counter = 1'))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: versions/bbb222_fails.lua:7: revision assigned " ..
        "global 'counter'; use local", lines(r.err)[1])
      assert.version_is(url, "aaa111")
    end)

    it("using op after the revision ended is an error", function()
      local dir, url = setup(backend, {
        { file = "aaa111_leak.lua", text = table.concat({
          "local saved",
          "return {",
          '  revision = "aaa111",',
          "  upgrade = function(op) saved = op end,",
          "  downgrade = function(op)",
          '    saved.create_table("late", {"id", "integer"})',
          "  end,",
          "}", "" }, "\n") } })
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "downgrade base")
      -- a fresh process: `saved` is nil in the downgrade run
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/aaa111_leak.lua:6: ", r.err)
      assert.version_is(url, "aaa111")
    end)
  end)
end
