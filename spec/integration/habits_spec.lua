-- spec/integration/habits_spec.lua: conveniences from issue 13: SQLAlchemy
-- URL spellings, global options after the command, `help CMD` with
-- examples, "did you mean" for global options, colour only on a terminal
-- without NO_COLOR, and the merge template's empty body.

local h = require "helpers"

local rev = h.rev

local function show(r) return r.cmd .. "\n" .. r.out .. r.err end

local function project()
  local dir = h.tmpdir()
  h.project(dir, { rev { id = "aaa111", up = 'op.create_table("t", {"id", "integer"})',
                         dn = 'op.drop_table("t")' } })
  return dir
end

describe("habits #sqlite", function()
  it("accepts sqlite+pysqlite:/// and says with -v that the driver is ignored", function()
    local dir = project()
    local r = h.run("-v -u sqlite+pysqlite:///app.db upgrade head", { cwd = dir })
    assert.equal(0, r.code, show(r))
    assert.matches("the URL names the driver 'pysqlite' (SQLAlchemy spelling); " ..
                   "lmigrate ignores it and uses its own SQLite backend", r.err, 1, true)
    assert.version_is("sqlite:" .. dir .. "/app.db", "aaa111")
    r = h.run("-u sqlite+pysqlite:///app.db current", { cwd = dir })
    assert.equal("aaa111 (head)\n", r.out)
    assert.equal("", r.err)
  end)

  it("takes global options after the command, leaving a command's own -v and values alone", function()
    local dir = project()
    local cfg = h.read(dir .. "/lmigrate.lua")
    os.remove(dir .. "/lmigrate.lua")
    h.write(dir .. "/other.lua", cfg)
    local r = h.run("upgrade head -c other.lua -u sqlite:x.db", { cwd = dir })
    assert.equal(0, r.code, show(r))
    assert.version_is("sqlite:" .. dir .. "/x.db", "aaa111")
    r = h.run("current --config=other.lua --url sqlite:x.db -v", { cwd = dir })
    assert.equal(0, r.code, show(r))
    assert.matches("Rev: aaa111 (head)", r.out, 1, true)   -- current's own -v
    r = h.run("status -q -c other.lua -u sqlite:x.db", { cwd = dir })
    assert.equal(0, r.code, show(r))
    r = h.run({ "revision", "-m", "-u", "-c", "other.lua", "--rev-id", "bbb222" }, { cwd = dir })
    assert.equal(0, r.code, show(r))
    assert.matches('message       = "-u"', h.read(dir .. "/versions/bbb222_u.lua"), 1, true)
    r = h.run("current -- -u sqlite:x.db", { cwd = dir })
    assert.equal(2, r.code)
  end)

  it("help CMD prints the usage with examples; help alone the overview", function()
    local r = h.run("help status")
    assert.equal(0, r.code, show(r))
    assert.matches("^usage: lmigrate status %[%-%-json%]", r.out)
    assert.matches("examples:\n  lmigrate status || echo", r.out, 1, true)
    r = h.run("help upgrade")
    assert.matches("  lmigrate upgrade head --sql > migrate.sql\n", r.out, 1, true)
    assert.equal(r.out, h.run("upgrade -h").out)
    r = h.run("help")
    assert.equal(0, r.code)
    assert.matches("  help       help COMMAND", r.out, 1, true)
    r = h.run("help upgrad")
    assert.equal(2, r.code)
    assert.matches("unknown command 'upgrad' (did you mean 'upgrade'?)", r.err, 1, true)
  end)

  it("suggests the global option meant", function()
    local r = h.run("--urll sqlite:x.db current")
    assert.equal(2, r.code)
    assert.equal("lmigrate: error: unknown option '--urll' (did you mean '--url'?); " ..
                 "see lmigrate --help\n", r.err)
    r = h.run("--lock-timout=3 current")
    assert.matches("(did you mean '--lock-timeout'?)", r.err, 1, true)
    r = h.run("--zzzzzz current")
    assert.equal("lmigrate: error: unknown option '--zzzzzz'; see lmigrate --help\n", r.err)
  end)

  it("colours errors on a terminal, not with NO_COLOR or into a pipe", function()
    local cmd = h.quote(h.bin()) .. " nosuchcommand"
    local r = h.run({ "-qec", cmd, "/dev/null" }, { bin = "script", env = { TERM = "xterm" } })
    assert.matches("lmigrate: \27[1;31merror\27[0m: unknown command", r.out, 1, true)
    r = h.run({ "-qec", cmd, "/dev/null" }, { bin = "script", env = { TERM = "xterm", NO_COLOR = "1" } })
    assert.matches("lmigrate: error: unknown command", r.out, 1, true)
    assert.not_matches("\27[", r.out, 1, true)
    r = h.run("nosuchcommand", { env = { TERM = "xterm" } })
    assert.not_matches("\27[", r.err, 1, true)
  end)

  it("resolves script_location relative to the config file, so -c works from anywhere", function()
    local root = h.tmpdir()
    local dir = root .. "/proj"
    h.project(dir, { rev { id = "aaa111", up = 'op.execute("SELEC 1")' } },
      { config = 'return { url = "sqlite:test.db", script_location = "versions" }\n' })
    local r = h.run("-c proj/lmigrate.lua heads", { cwd = root })
    assert.equal(0, r.code, show(r))
    assert.equal("aaa111 (head)\n", r.out)
    r = h.run("-c proj/lmigrate.lua upgrade head", { cwd = root })
    assert.equal(1, r.code)
    -- the whole path, relative to where lmigrate runs
    assert.matches("proj/versions/aaa111_rev.lua:5: execute:", r.err, 1, true)
    r = h.run({ "-c", dir .. "/lmigrate.lua", "heads" }, { cwd = "/" })
    assert.equal(0, r.code, show(r))
  end)

  it("never shortens a long path in errors to '...'", function()
    local dir = h.tmpdir() .. "/a_rather_long_directory_name_for_paths/and_another_long_one_here"
    local long = "aaa111_a_revision_file_name_that_is_quite_long_indeed.lua"
    h.project(dir, { { file = long, text = rev { id = "aaa111", up = 'local x = nil; x.y = 1' }.text } })
    local r = h.run({ "-c", dir .. "/lmigrate.lua", "-u", "sqlite:" .. dir .. "/t.db", "upgrade", "head" })
    assert.equal(1, r.code)
    assert.matches("lmigrate: error: " .. dir .. "/versions/" .. long .. ":5: attempt to index", r.err, 1, true)
    assert.not_matches("...", r.err, 1, true)
    h.write(dir .. "/versions/" .. long, "return { revision = \n")
    r = h.run({ "-c", dir .. "/lmigrate.lua", "heads" })
    assert.equal(1, r.code)
    assert.matches("lmigrate: error: " .. dir .. "/versions/" .. long .. ":2: unexpected symbol", r.err, 1, true)
  end)

  it("writes merge revisions with empty bodies", function()
    local dir = project()
    h.write(dir .. "/versions/bbb222_rev.lua", rev { id = "bbb222", down = "aaa111" }.text)
    h.write(dir .. "/versions/ccc333_rev.lua", rev { id = "ccc333", down = "aaa111" }.text)
    local r = h.run("merge -m join heads --rev-id ddd444", { cwd = dir })
    assert.equal(0, r.code, show(r))
    local text = h.read(dir .. "/versions/ddd444_join.lua")
    assert.matches("  upgrade = function(op) end,\n", text, 1, true)
    assert.matches("  downgrade = function(op) end,\n", text, 1, true)
    assert.not_matches("add_column", text, 1, true)
  end)
end)

for _, backend in ipairs(h.each_backend()) do
  describe("revision typos #" .. backend, function()
    local dir, url

    local function setup(up)
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, { rev { id = "aaa111", up = 'op.create_table("a", {"id", "integer"})' },
                       rev { id = "bbb222", down = "aaa111", up = up } },
        { config = ("return { url = %q }\n"):format(url) })
    end

    it("an offline script records the time it is applied, not when it was generated", function()
      setup('op.create_table("b", {"id", "integer"})')
      local r = h.run("upgrade head --sql", { cwd = dir })
      assert.equal(0, r.code, show(r))
      -- no timestamp literal: the database's clock when the script runs
      assert.is_truthy(r.out:find("strftime('%Y-%m-%d %H:%M:%fZ', 'now')", 1, true) or
                       r.out:find("to_char(clock_timestamp() AT TIME ZONE 'UTC'", 1, true))
      local before = os.date("!%Y-%m-%d %H:%M:%S")
      os.execute("sleep 1.1")
      local kind = h.parse_db(url)
      if kind == "postgres" then h.psql(url, r.out) else h.sqlite_exec(url, r.out) end
      local rows = h.query(url, "SELECT started_at, run_by FROM lmigrate_version_history ORDER BY id")
      assert.equal(2, #rows)
      for _, row in ipairs(rows) do
        assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%.%d%d%dZ$", row[1])
        assert.is_true(row[1] > before, row[1] .. " should be after " .. before)
        assert.equal("sql-script", row[2])
      end
    end)

    it("a base revision failing on a database that already has tables hints at stamp", function()
      setup('op.create_table("b", {"id", "integer"})')
      h.write(dir .. "/versions/aaa111_rev.lua", rev { id = "aaa111", up = 'op.execute("SELEC 1")' }.text)
      local r = h.run("upgrade head", { cwd = dir })
      assert.equal(1, r.code, show(r))
      assert.not_matches("hint:", r.err, 1, true)      -- an empty database
      h.write(dir .. "/versions/aaa111_rev.lua", rev { id = "aaa111",
        up = 'op.create_table("legacy", {"id", "integer"})' }.text)
      h.query(url, "CREATE TABLE legacy (id integer)")
      r = h.run("upgrade head", { cwd = dir })
      assert.equal(1, r.code, show(r))
      assert.matches('lmigrate: hint: the database already has tables ("' ..
        (backend == "postgres" and "public.legacy" or "legacy") .. '", ...) but no revision ' ..
        "is recorded in lmigrate_version", r.err, 1, true)
      assert.matches("`lmigrate stamp REV`", r.err, 1, true)
    end)

    it("a misspelled op is an error at its line with a suggestion; nothing of the revision stays", function()
      setup('op.create_table("b", {"id", "integer"}) op.add_colum("a", {"x", "integer"})')
      local r = h.run("upgrade head", { cwd = dir })
      assert.equal(1, r.code, show(r))
      assert.matches("versions/bbb222_rev.lua:5: unknown op 'add_colum' (did you mean 'add_column'?)",
                     r.err, 1, true)
      assert.version_is(url, "aaa111")
      assert.has_no_table(url, "b")
    end)

    it("an unknown type on SQLite is an error with a suggestion; a quoted one passes verbatim", function()
      setup('op.create_table("b", {"id", "integer"}, {"ok", "booleen"})')
      local r = h.run("upgrade head", { cwd = dir })
      if backend == "sqlite" then
        assert.equal(1, r.code, show(r))
        assert.matches('column "ok": unknown type "booleen" (did you mean "boolean"?)', r.err, 1, true)
        assert.matches([[quote a backend-specific one to pass it verbatim: '"booleen"']], r.err, 1, true)
        assert.has_no_table(url, "b")
        h.write(dir .. "/versions/bbb222_rev.lua", rev { id = "bbb222", down = "aaa111",
          up = [[op.create_table("b", {"id", "integer"}, {"v", '"mytype"'})]] }.text)
        r = h.run("upgrade head", { cwd = dir })
        assert.equal(0, r.code, show(r))
        assert.has_column(url, "b", "v", "mytype")
      else
        -- PostgreSQL checks its type names itself
        assert.equal(1, r.code, show(r))
        assert.matches('type "booleen" does not exist', r.err, 1, true)
      end
    end)
  end)
end
