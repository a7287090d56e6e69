-- spec/integration/offline_spec.lua: --sql (offline) mode prints the whole
-- script, touches no database, and replays to the same result as online.

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

-- Pipe a SQL script into a database through its CLI.
local function replay(url, script)
  local kind, target = h.parse_db(url)
  if kind == "postgres" then h.psql(target, script) else h.sqlite_exec(target, script) end
end

-- Everything a comparison needs: tables, their columns, indexes, versions,
-- history (revision direction outcome).
local function snapshot(url)
  local s = { tables = h.tables(url), indexes = h.indexes(url),
              versions = h.versions(url), history = history(url), columns = {} }
  for _, t in ipairs(s.tables) do s.columns[t] = h.columns(url, t) end
  return s
end

for _, backend in ipairs(h.each_backend()) do
  describe("offline --sql [" .. backend .. "] #integration #" .. backend, function()
    local revs = {
      rev { id = "aaa111", msg = "users",
            up = 'op.create_table("users", {"id", "integer", primary_key = true}, ' ..
                 '{"name", "string(40)", nullable = false}) ' ..
                 'op.execute("INSERT INTO users (id, name) VALUES ($1, $2)", {1, "o\'neil"})',
            dn = 'op.drop_table("users")' },
      rev { id = "bbb222", down = "aaa111", msg = "email",
            up = 'op.add_column("users", {"email", "text"}) ' ..
                 'op.create_index("ix_users_email", "users", {"email"}, { unique = true })',
            dn = 'op.drop_index("ix_users_email") op.drop_column("users", "email")' },
      rev { id = "ccc333", down = "bbb222", msg = "posts",
            up = 'op.create_table("posts", {"id", "integer", primary_key = true}, ' ..
                 '{"user_id", "integer", references = "users.id"})',
            dn = 'op.drop_table("posts")' },
    }

    it("upgrade head --sql prints BEGIN/COMMIT per revision and touches no database", function()
      local dir, url = setup(backend, revs)
      local r = run(dir, "upgrade head --sql")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      local _, nbegin = r.out:gsub("\nBEGIN;\n", "")
      local _, ncommit = r.out:gsub("\nCOMMIT;\n", "")
      assert.equal(3, nbegin)
      assert.equal(3, ncommit)
      assert.matches('INSERT INTO "lmigrate_version" %(version_num%) VALUES %(\'aaa111\'%);', r.out)
      assert.matches('UPDATE "lmigrate_version" SET version_num = \'bbb222\' WHERE version_num = \'aaa111\';', r.out)
      assert.matches("-- Running upgrade aaa111 -> bbb222, email", r.out, 1, true)
      -- the value is a quoted literal, not spliced raw
      assert.matches("'o''neil'", r.out, 1, true)
      assert.not_matches("done in %d+ ms", r.out)
      if backend == "sqlite" then
        local _, path = h.parse_db(url)
        assert.is_false(h.exists(path), "--sql created the database file")
      else
        assert.same({}, h.tables(url))
      end
    end)

    it("replaying the script gives what an online upgrade gives", function()
      local dir, url = setup(backend, revs)
      local script = run(dir, "upgrade head --sql")
      assert.equal(0, script.code, script.err)
      local other = h.db_url(backend, h.tmpdir())
      replay(other, script.out)
      assert.equal(0, run(dir, "upgrade head").code)
      local online, offline = snapshot(url), snapshot(other)
      assert.same(online.tables, offline.tables)
      assert.same(online.columns, offline.columns)
      assert.same(online.indexes, offline.indexes)
      assert.same({ "ccc333" }, offline.versions)
      assert.same(online.versions, offline.versions)
      assert.same(online.history, offline.history)
      assert.same({ { "1", "o'neil" } }, h.query(other, "SELECT id, name FROM users"))
      -- and the online runner accepts the replayed database as up to date
      local r = run(dir, { "--url", other, "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out)
      r = run(dir, { "--url", other, "validate" })
      assert.equal(0, r.code, r.err)
    end)

    it("upgrade FROM:TO --sql starts at FROM", function()
      local dir, url = setup(backend, revs)
      assert.equal(0, run(dir, "upgrade aaa111").code)
      local r = run(dir, "upgrade aaa111:ccc333 --sql")
      assert.equal(0, r.code, r.err)
      assert.not_matches("-> aaa111", r.out, 1, true)
      assert.matches("-- Running upgrade aaa111 -> bbb222", r.out, 1, true)
      assert.matches("-- Running upgrade bbb222 -> ccc333", r.out, 1, true)
      assert.not_matches("INSERT INTO \"lmigrate_version\" ", r.out, 1, true)
      -- it did not touch the database at aaa111
      assert.version_is(url, "aaa111")
      replay(url, r.out)
      assert.version_is(url, "ccc333")
      assert.has_table(url, "posts")
      assert.has_column(url, "users", "email")
    end)

    it("downgrade FROM:TO --sql", function()
      local dir, url = setup(backend, revs)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "downgrade ccc333:aaa111 --sql")
      assert.equal(0, r.code, r.err)
      assert.matches("-- Running downgrade ccc333 -> bbb222", r.out, 1, true)
      assert.matches("-- Running downgrade bbb222 -> aaa111", r.out, 1, true)
      assert.version_is(url, "ccc333")
      replay(url, r.out)
      assert.version_is(url, "aaa111")
      assert.has_no_table(url, "posts")
      assert.has_no_column(url, "users", "email")
    end)

    it("downgrade --sql without FROM:TO is a usage error", function()
      local dir = setup(backend, revs)
      local r = run(dir, "downgrade -1 --sql")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: downgrade %-%-sql needs FROM:TO", r.err)
      assert.equal("", r.out)
    end)

    it("FROM:TO without --sql is a usage error", function()
      local dir, url = setup(backend, revs)
      local r = run(dir, "upgrade aaa111:ccc333")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: upgrade: FROM:TO ranges are for %-%-sql", r.err)
      assert.version_is(url, {})
    end)

    it("op.query in --sql mode is a clear error naming file:line", function()
      local dir, url = setup(backend, { rev { id = "aaa111",
        up = 'local rows = op.query("SELECT 1 AS one")', dn = "" } })
      local r = run(dir, "upgrade head --sql")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/aaa111_rev.lua:5: ", r.err)
      assert.matches("query", r.err)
      assert.matches("offline", r.err)
      if backend == "sqlite" then
        local _, path = h.parse_db(url)
        assert.is_false(h.exists(path))
      end
    end)

    it("a --sql run that fails midway prints no partial script", function()
      local failing = {}
      for i = 1, 2 do failing[i] = revs[i] end
      failing[3] = rev { id = "ccc333", down = "bbb222",
        up = 'op.create_table("posts", {"id", "integer", primary_key = true}) ' ..
             'local n = op.query("SELECT count(*) AS n FROM users")', dn = "" }
      local dir, url = setup(backend, failing)
      local r = run(dir, "upgrade head --sql")
      assert.equal(1, r.code)
      assert.equal("", r.out)
      assert.matches("^lmigrate: error: versions/ccc333_rev.lua:5: ", r.err)
      -- FROM:TO: the revisions before the failing one are not printed either
      r = run(dir, "upgrade aaa111:head --sql")
      assert.equal(1, r.code)
      assert.equal("", r.out)
      assert.matches("offline", r.err)
      -- piping the (empty) output into the database changes nothing
      assert.equal(0, run(dir, "upgrade aaa111").code)
      replay(url, r.out)
      assert.version_is(url, "aaa111")
      assert.has_no_column(url, "users", "email")
      -- the same run up to the good revision prints its whole script
      r = run(dir, "upgrade aaa111:bbb222 --sql")
      assert.equal(0, r.code, r.err)
      assert.matches("COMMIT;\n$", r.out)
      replay(url, r.out)
      assert.version_is(url, "bbb222")
    end)

    if backend == "sqlite" then
      it("a SQLite rebuild without copy_from fails the --sql run with nothing printed", function()
        local dir = setup(backend, { revs[1], revs[2], rev { id = "ccc333", down = "bbb222",
          up = 'op.alter_column("users", "name", { nullable = true })', dn = "" } })
        local r = run(dir, "upgrade aaa111:head --sql")
        assert.equal(1, r.code)
        assert.equal("", r.out)
        assert.matches("copy_from", r.err, 1, true)
      end)
    end

    it("op.offline tells a revision it is being rendered", function()
      local dir = setup(backend, { rev { id = "aaa111",
        up = 'if op.offline then op.execute("SELECT \'offline-mode\'") end', dn = "" } })
      local r = run(dir, "upgrade head --sql")
      assert.equal(0, r.code, r.err)
      assert.matches("offline-mode", r.out, 1, true)
    end)

    it("stamp --sql prints the version statements only", function()
      local dir, url = setup(backend, revs)
      local r = run(dir, "stamp head --sql")
      assert.equal(0, r.code, r.err)
      assert.matches("ccc333", r.out)
      assert.not_matches("CREATE TABLE \"users\"", r.out, 1, true)
      if backend == "sqlite" then
        local _, path = h.parse_db(url)
        assert.is_false(h.exists(path))
      end
    end)
  end)
end
