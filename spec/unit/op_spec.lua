-- op_spec.lua: the op module (src/op.c, src/value.c) against a real SQLite
-- file: DDL, value round trips, op.query/op.rows/op.execute, cursor
-- lifetime and error locations. Uses lmigrate.core's connect().
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

-- The file:line prefix of the line calling here().
local function here()
  local info = debug.getinfo(2, "Sl")
  return info.short_src .. ":" .. info.currentline .. ": "
end

describe("op against SQLite #unit", function()
  local path, conn

  before_each(function()
    path = os.tmpname()
    conn = core.connect("sqlite:" .. path)
  end)

  after_each(function()
    conn:close()
    os.remove(path)
  end)

  -- Run fn(op) on the connection (in a transaction when tx is true).
  local function run(fn, tx)
    return conn:run(fn, tx)
  end

  it("exposes dialect, offline, null and x", function()
    run(function(op)
      assert.equal("sqlite", op.dialect)
      assert.is_false(op.offline)
      assert.equal(core.null, op.null)
      assert.equal("userdata", type(op.null))
      assert.same({}, op.x)
    end)
  end)

  it("round-trips NULL, integers, floats, text, unicode and booleans", function()
    local rows = run(function(op)
      op.create_table("vals",
        { "id", "integer", primary_key = true, autoincrement = true },
        { "i", "bigint", nullable = true },
        { "f", "float", nullable = true },
        { "t", "text", nullable = true },
        { "b", "boolean", nullable = true })
      assert.equal(1, op.execute("INSERT INTO vals (i, f, t, b) VALUES ($1, $2, $3, $4)",
        { 9007199254740993, 0.1, [[it's "quoted"]], true }))
      op.execute("INSERT INTO vals (i, f, t, b) VALUES ($1, $2, $3, $4)",
        { op.null, nil, "żółw ✓ 🐢", false })
      op.execute("INSERT INTO vals (i, f, t, b) VALUES ($1, $2, $3, $4)",
        { math.mininteger, -1.5e300, "", op.null })
      return op.query("SELECT i, f, t, b FROM vals ORDER BY id")
    end, true)
    assert.equal(3, #rows)
    assert.equal(9007199254740993, rows[1].i)
    assert.equal("integer", math.type(rows[1].i))
    assert.equal(0.1, rows[1].f)
    assert.equal("float", math.type(rows[1].f))
    assert.equal([[it's "quoted"]], rows[1].t)
    assert.equal(1, rows[1].b)             -- SQLite stores booleans as 1/0
    assert.equal(core.null, rows[2].i)
    assert.equal(core.null, rows[2].f)
    assert.equal("żółw ✓ 🐢", rows[2].t)
    assert.equal(0, rows[2].b)
    assert.equal(math.mininteger, rows[3].i)
    assert.equal(-1.5e300, rows[3].f)
    assert.equal("", rows[3].t)
    assert.equal(core.null, rows[3].b)
  end)

  it("returns change counts from execute", function()
    run(function(op)
      op.create_table("n", { "id", "integer", primary_key = true }, { "v", "integer" })
      assert.equal(3, op.execute("INSERT INTO n (id, v) VALUES (1, 0), (2, 0), (3, 1)"))
      assert.equal(2, op.execute("UPDATE n SET v = $1 WHERE v = $2", { 5, 0 }))
      assert.equal(0, op.execute("DELETE FROM n WHERE id > $1", { 10 }))
      assert.equal(3, op.execute("DELETE FROM n"))
    end)
  end)

  it("iterates rows and closes the cursor on break", function()
    run(function(op)
      op.create_table("r", { "id", "integer", primary_key = true })
      for i = 1, 10 do op.execute("INSERT INTO r (id) VALUES ($1)", { i }) end
      local seen = {}
      for row in op.rows("SELECT id FROM r WHERE id > $1 ORDER BY id", { 3 }) do
        seen[#seen + 1] = row.id
      end
      assert.same({ 4, 5, 6, 7, 8, 9, 10 }, seen)

      local n = 0
      for row in op.rows("SELECT id FROM r ORDER BY id") do
        n = n + 1
        if row.id == 2 then break end
      end
      assert.equal(2, n)
      -- the broken-off cursor is closed: the table can be dropped at once
      op.drop_table("r")
      assert.same({}, op.query("SELECT name FROM sqlite_master WHERE name = 'r'"))
    end)
  end)

  it("closes explicitly and stays closed", function()
    run(function(op)
      local iter, state, ctl, closing = op.rows("SELECT 1 AS one UNION ALL SELECT 2")
      assert.equal(state, closing)
      assert.same({ one = 1 }, iter(state, ctl))
      getmetatable(closing).__close(closing)
      getmetatable(closing).__close(closing)   -- idempotent
      assert.is_nil(iter(state, ctl))
    end)
  end)

  it("closes cursors left open when the revision ends", function()
    local iter, state
    run(function(op)
      iter, state = op.rows("SELECT 1 AS one UNION ALL SELECT 2")
      assert.same({ one = 1 }, iter(state))
    end)
    local ok, e = pcall(iter, state)
    assert.is_false(ok)
    assert.matches("op used outside of its revision", e, 1, true)
  end)

  it("raises when op is used after its revision", function()
    local saved
    run(function(op) saved = op end)
    local where
    local ok, e = pcall(function()
      where = here(); saved.create_table("late", { "a", "text" })
    end)
    assert.is_false(ok)
    assert.equal(where .. "op used outside of its revision", e)
  end)

  it("creates and drops indexes and columns", function()
    run(function(op)
      op.create_table("users", { "id", "integer", primary_key = true },
        { "email", "string(255)", nullable = false })
      op.create_index("ix_users_email", "users", { "email" }, { unique = true })
      op.add_column("users", { "phone", "string(20)", nullable = true })
      op.add_column("users", { "score", "integer", nullable = false, default = 0 })
      op.execute("INSERT INTO users (id, email) VALUES (1, 'a@x')")
      local ok, e = pcall(op.execute, "INSERT INTO users (id, email) VALUES (2, 'a@x')")
      assert.is_false(ok)
      assert.matches("UNIQUE constraint failed", e, 1, true)
      assert.same({ { id = 1, email = "a@x", phone = core.null, score = 0 } },
        op.query("SELECT * FROM users"))
      op.drop_column("users", "phone")
      op.drop_index("ix_users_email")
      op.drop_index("ix_users_email", { if_exists = true })
      op.rename_table("users", "people")
      assert.same({ { n = 1 } }, op.query("SELECT count(*) AS n FROM people"))
    end)
  end)

  it("enforces references with on_delete", function()
    run(function(op)
      op.execute("PRAGMA foreign_keys = ON")
      op.create_table("orgs", { "id", "integer", primary_key = true })
      op.create_table("members", { "id", "integer", primary_key = true },
        { "org_id", "integer", references = "orgs.id", on_delete = "CASCADE" })
      op.execute("INSERT INTO orgs (id) VALUES (1)")
      op.execute("INSERT INTO members (id, org_id) VALUES (1, 1), (2, 1)")
      op.execute("DELETE FROM orgs")
      assert.same({ { n = 0 } }, op.query("SELECT count(*) AS n FROM members"))
    end)
  end)

  it("applies default and server_default", function()
    run(function(op)
      op.create_table("d", { "id", "integer", primary_key = true },
        { "s", "text", default = "it's" },
        { "ts", "text", server_default = "datetime('now')" },
        { "k", "text", server_default = "CURRENT_TIMESTAMP" })
      op.execute("INSERT INTO d (id) VALUES (1)")
      local row = op.query("SELECT * FROM d")[1]
      assert.equal("it's", row.s)
      assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", row.ts)
      assert.matches("^%d%d%d%d%-", row.k)
    end)
  end)

  describe("errors", function()
    it("name the op, the object and the database message at the caller's line", function()
      local where
      local ok, e = pcall(run, function(op)
        op.create_table("users", { "id", "integer" })
        where = here(); op.create_table("users", { "id", "integer" })
      end)
      assert.is_false(ok)
      -- the backend may append the failing SQL after the message
      assert.equal(1, e:find(where .. 'create_table "users": table "users" already exists', 1, true))
    end)

    it("from execute and query carry the location", function()
      local where
      local ok, e = pcall(run, function(op)
        where = here(); op.execute("INSERT INTO nope VALUES (1)")
      end)
      assert.is_false(ok)
      assert.equal(1, e:find(where .. "execute: no such table: nope", 1, true))

      ok, e = pcall(run, function(op)
        where = here(); op.query("SELECT * FROM nope")
      end)
      assert.is_false(ok)
      assert.equal(1, e:find(where .. "query: no such table: nope", 1, true))

      ok, e = pcall(run, function(op)
        where = here(); op.rows("SELECT * FROM nope")
      end)
      assert.is_false(ok)
      assert.equal(1, e:find(where .. "rows: no such table: nope", 1, true))
    end)

    it("from a bad parameter name the argument", function()
      local where
      local ok, e = pcall(run, function(op)
        where = here(); op.execute("SELECT $1, $2, $3", { 1, 2, {} })
      end)
      assert.is_false(ok)
      assert.equal(where .. "bad argument #2 to 'execute' (table not supported as SQL parameter 3)", e)
    end)

    it("roll back a transactional run", function()
      local ok = pcall(run, function(op)
        op.create_table("gone", { "id", "integer" })
        error("boom")
      end, true)
      assert.is_false(ok)
      run(function(op)
        assert.same({}, op.query("SELECT name FROM sqlite_master WHERE name = 'gone'"))
      end)
    end)
  end)
end)
