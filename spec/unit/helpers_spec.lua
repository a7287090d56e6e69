-- The spec harness itself: temp dirs, files, running programs, the sqlite3
-- wrapper and the registered schema assertions (positive and negative).
local h = require "helpers"

describe("spec helpers #unit", function()
  it("is the same table the busted helper hook loaded", function()
    assert.equal(h, package.loaded.helpers)
    assert.truthy(h.root:match("^/"))
    assert.truthy(h.exists(h.root .. "/spec/helpers/init.lua"))
  end)

  it("h.bin() is absolute and honours LMIGRATE_BIN", function()
    assert.truthy(h.bin():match("^/"))
    if not os.getenv("LMIGRATE_BIN") then
      assert.equal(h.root .. "/build/lmigrate", h.bin())
    end
  end)

  it("loads lmigrate.core from LMIGRATE_CPATH when set (make asan-test)", function()
    local forced = os.getenv("LMIGRATE_CPATH")
    if not forced then return end
    local want = package.searchpath("lmigrate.core", forced)
    assert.truthy(want, "LMIGRATE_CPATH has no lmigrate/core.so: " .. forced)
    require "lmigrate.core"
    local maps = h.read("/proc/self/maps")
    assert.truthy(maps:find(want:gsub("^%./", ""), 1, true), "core.so mapped is not " .. want)
  end)

  describe("tmpdir/write/read/exists", function()
    it("makes fresh directories and round-trips files", function()
      local a, b = h.tmpdir(), h.tmpdir()
      assert.not_equal(a, b)
      assert.truthy(a:match("^/"))
      local p = h.write(a .. "/x/y/z.txt", "one\0two\n")
      assert.equal(a .. "/x/y/z.txt", p)
      assert.is_true(h.exists(p))
      assert.equal("one\0two\n", h.read(p))
      assert.is_false(h.exists(a .. "/nope"))
      h.rmdir(b)
      assert.is_false(h.exists(b .. "/."))
    end)
  end)

  describe("run", function()
    it("captures stdout, stderr, exit status, cwd, env and stdin", function()
      local d = h.tmpdir()
      local r = h.run({ "-c", 'pwd; echo "$FOO"; echo err >&2; cat; exit 3' },
        { bin = "sh", cwd = d, env = { FOO = "it's" }, stdin = "in put" })
      assert.equal(3, r.code)
      assert.equal(d .. "\nit's\nin put", r.out)
      assert.equal("err\n", r.err)
    end)

    it("gives an empty stdin and scrubs LMIGRATE_URL/DATABASE_URL", function()
      local r = h.run({ "-c", 'cat; echo "[${LMIGRATE_URL-unset}][${DATABASE_URL-unset}]"' },
        { bin = "sh", env = { DATABASE_URL = "sqlite:x.db" } })
      assert.equal(0, r.code)
      assert.equal("[unset][sqlite:x.db]\n", r.out)
    end)

    it("reports death by signal as 128+N", function()
      local r = h.run({ "-c", "kill -TERM $$" }, { bin = "sh" })
      assert.equal(128 + 15, r.code)
    end)
  end)

  describe("sqlite", function()
    local dir, db
    before_each(function()
      dir = h.tmpdir()
      db = dir .. "/t.db"
      h.sqlite_exec(db, [[
        CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50), note TEXT);
        CREATE UNIQUE INDEX ix_users_name ON users (name);
        INSERT INTO users VALUES (1, 'a|b', NULL), (2, 'multi
line', '');
      ]])
    end)

    it("returns rows as arrays of strings, NULL as h.NULL", function()
      local rows = h.sqlite(db, "SELECT id, name, note FROM users ORDER BY id")
      assert.same({ { "1", "a|b", h.NULL }, { "2", "multi\nline", "" } }, rows)
      assert.same({}, h.sqlite(db, "SELECT * FROM users WHERE 0"))
    end)

    it("accepts sqlite: URLs", function()
      assert.same({ { "2" } }, h.sqlite("sqlite:" .. db, "SELECT count(*) FROM users"))
      assert.same({ { "2" } }, h.query("sqlite:///" .. db, "SELECT count(*) FROM users"))
    end)

    it("raises on SQL errors", function()
      assert.has_error(function() h.sqlite(db, "SELECT * FROM nope") end)
    end)

    it("has_table / has_no_table", function()
      assert.has_table(db, "users")
      assert.has_no_table(db, "orders")
      assert.is_not.has_table(db, "orders")
      local ok, err = pcall(function() assert.has_table(db, "orders") end)
      assert.is_false(ok)
      assert.matches("to have table 'orders' %(tables: users%)", tostring(err))
      ok, err = pcall(function() assert.has_no_table(db, "users") end)
      assert.is_false(ok)
      assert.matches("not to have table 'users'", tostring(err))
    end)

    it("has_column with and without a declared type", function()
      assert.has_column(db, "users", "name")
      assert.has_column(db, "users", "name", "varchar(50)")
      assert.has_no_column(db, "users", "phone")
      assert.has_no_column(db, "users", "name", "text")
      local ok, err = pcall(function() assert.has_column(db, "users", "name", "text") end)
      assert.is_false(ok)
      assert.matches("to have column 'name' of type 'text' %(columns: id INTEGER, name VARCHAR%(50%), note TEXT%)",
        tostring(err))
      ok, err = pcall(function() assert.has_column(db, "nope", "x") end)
      assert.is_false(ok)
      assert.matches("no table 'nope'", tostring(err))
    end)

    it("has_index / has_no_index", function()
      assert.has_index(db, "ix_users_name")
      assert.has_no_index(db, "ix_other")
      local ok, err = pcall(function() assert.has_index(db, "ix_other") end)
      assert.is_false(ok)
      assert.matches("indexes: ix_users_name", tostring(err))
    end)

    it("version_is: missing table, empty, one and several rows", function()
      assert.version_is(db, {})
      local ok, err = pcall(function() assert.version_is(db, { "abc" }) end)
      assert.is_false(ok)
      assert.matches("to hold {abc}, but it holds %(no table%)", tostring(err))

      h.sqlite_exec(db, "CREATE TABLE lmigrate_version (version_num VARCHAR(64) PRIMARY KEY)")
      assert.version_is(db, {})
      h.sqlite_exec(db, "INSERT INTO lmigrate_version VALUES ('bbb'), ('aaa')")
      assert.version_is(db, { "aaa", "bbb" })
      assert.version_is("sqlite:" .. db, { "bbb", "aaa" })
      assert.is_not.version_is(db, { "aaa" })
      ok, err = pcall(function() assert.version_is(db, { "ccc" }) end)
      assert.is_false(ok)
      assert.matches("to hold {ccc}, but it holds {aaa, bbb}", tostring(err))
      h.sqlite_exec(db, "DELETE FROM lmigrate_version WHERE version_num = 'aaa'")
      assert.version_is(db, "bbb")
    end)
  end)

  describe("backends and projects", function()
    local saved = os.getenv("LMIGRATE_TEST_BACKENDS")

    it("each_backend defaults to both backends or follows LMIGRATE_TEST_BACKENDS", function()
      local list = h.each_backend()
      assert.truthy(#list >= 1)
      if not saved then assert.same({ "sqlite", "postgres" }, list) end
    end)

    it("db_url gives a fresh sqlite file URL in the directory", function()
      local d = h.tmpdir()
      assert.equal("sqlite:" .. d .. "/test.db", h.db_url("sqlite", d))
      assert.has_error(function() h.db_url("oracle", d) end)
    end)

    it("project writes lmigrate.lua and the revision files", function()
      local d = h.tmpdir()
      h.project(d, { { file = "aaa_first.lua", text = "return {}\n" } })
      assert.equal('return { url = "sqlite:test.db", script_location = "versions" }\n',
        h.read(d .. "/lmigrate.lua"))
      assert.equal("return {}\n", h.read(d .. "/versions/aaa_first.lua"))
      local cfg = dofile(d .. "/lmigrate.lua")
      assert.equal("versions", cfg.script_location)
    end)
  end)
end)
