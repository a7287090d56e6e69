-- spec/integration/rebuild_spec.lua: SQLite table rebuilds through the CLI
-- (op.alter_column and friends -> src/op_batch.c -> src/sqlite_rebuild.c):
-- a table carrying every kind of constraint, index, trigger and view is
-- altered and reverted, and everything (rows included) is checked after
-- each step; a child table's ON DELETE CASCADE rows survive a rebuild of
-- the parent with foreign_keys on; a failed rebuild leaves no trace; an
-- index lost with a dropped column is a warning; --sql output replays.

local h = require "helpers"

local function rev(id, down, up, dn, extra)
  return { file = id .. "_rb.lua", text = table.concat({
    "return {",
    "  revision = " .. ("%q"):format(id) .. ",",
    "  down_revision = " .. (down and ("%q"):format(down) or "nil") .. ",",
    extra or "",
    "  upgrade = function(op)", up, "  end,",
    "  downgrade = function(op)", dn or "", "  end,",
    "}", "" }, "\n") }
end

local function project(revs)
  local dir = h.tmpdir()
  h.project(dir, revs)
  return dir, dir .. "/test.db"
end

local function ok(dir, args)
  local r = h.run(args, { cwd = dir })
  assert(r.code == 0, ("lmigrate %s failed (%d):\n%s%s"):format(args, r.code, r.out, r.err))
  return r
end

local SCHEMA = [[
    op.execute([=[CREATE TABLE parent (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      code TEXT NOT NULL COLLATE NOCASE UNIQUE,
      name VARCHAR(20) DEFAULT 'anon',
      created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
      score INT CONSTRAINT score_range CHECK (score BETWEEN 0 AND 100),
      CHECK (length(code) <= 8)
    )]=])
    op.execute([=[CREATE TABLE child (
      id INTEGER PRIMARY KEY,
      pid INT NOT NULL,
      note TEXT,
      CONSTRAINT child_parent FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE
    )]=])
    op.execute("CREATE INDEX ix_parent_name ON parent (name)")
    op.execute("CREATE INDEX ix_parent_hi ON parent (score) WHERE score > 50")
    op.execute("CREATE INDEX ix_parent_lower ON parent (lower(name))")
    op.execute("CREATE TABLE audit (msg TEXT)")
    op.execute("CREATE TRIGGER parent_upd AFTER UPDATE OF score ON parent BEGIN INSERT INTO audit VALUES ('score ' || NEW.score); END")
    op.execute("CREATE VIEW top_parents AS SELECT code, score FROM parent WHERE score > 50")
    op.execute("INSERT INTO parent (code, name, score) VALUES ('a', 'Ann', 90), ('b', 'Bob', 10), ('c', 'Cy', 60)")
    op.execute("DELETE FROM parent WHERE code = 'c'")
    op.execute("INSERT INTO child (pid, note) VALUES (1, 'x'), (1, 'y'), (2, 'z')")
]]

describe("SQLite table rebuild through the CLI #integration #sqlite", function()
  it("keeps rows, constraints, indexes, triggers and views through alter_column and back", function()
    local dir, db = project {
      rev("a1", nil, SCHEMA, "op.drop_table('child') op.drop_table('parent')"),
      rev("a2", "a1", [[
        op.alter_column("parent", "name", { type = "text", nullable = false, server_default = "'nobody'" })
        op.alter_column("parent", "score", { new_name = "points" })
      ]], [[
        op.alter_column("parent", "points", { new_name = "score" })
        op.alter_column("parent", "name", { type = "string(20)", nullable = true, server_default = "'anon'" })
      ]]),
    }
    ok(dir, "upgrade a1")
    local before = h.sqlite(db, "SELECT id, code, name, created, score FROM parent ORDER BY id")
    local idx_before = h.sqlite(db, "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') ORDER BY name")

    local r = ok(dir, "upgrade a2")
    -- no rebuild warning (the lint's renaming-column finding may precede)
    assert.is_nil(r.err:find("lmigrate: warning", 1, true), r.err)
    local s = h.sqlite(db, "SELECT sql FROM sqlite_master WHERE name = 'parent'")[1][1]
    for _, item in ipairs {
      "id INTEGER PRIMARY KEY AUTOINCREMENT", "code TEXT NOT NULL COLLATE NOCASE UNIQUE",
      "created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP",
      '"points" INT CONSTRAINT score_range CHECK ("points" BETWEEN 0 AND 100)', "CHECK (length(code) <= 8)",
    } do
      assert.matches(item, s, 1, true)
    end
    local name_def = s:match("\n%s*(name [^\n]*),\n")
    assert.matches("^name TEXT ", name_def)
    assert.matches("NOT NULL", name_def, 1, true)
    assert.matches("DEFAULT 'nobody'", name_def, 1, true)
    assert.same(before, h.sqlite(db, "SELECT id, code, name, created, points FROM parent ORDER BY id"))
    assert.same({ { "1", "1", "x" }, { "2", "1", "y" }, { "3", "2", "z" } },
      h.sqlite(db, "SELECT id, pid, note FROM child ORDER BY id"))
    -- indexes, trigger and view are there, following the rename
    assert.same({ "ix_parent_hi", "ix_parent_lower", "ix_parent_name", "parent_upd", "top_parents" },
      (function() local t = {} for _, row in ipairs(h.sqlite(db,
        "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL ORDER BY name")) do t[#t + 1] = row[1] end return t end)())
    assert.same({ { "a", "90" } }, h.sqlite(db, "SELECT code, points FROM top_parents"))
    -- constraints still bite, AUTOINCREMENT continues after the deleted id 3
    for _, bad in ipairs {
      "INSERT INTO parent (code, points) VALUES ('A', 1)",          -- UNIQUE + NOCASE
      "INSERT INTO parent (code, points) VALUES ('d', 101)",        -- named CHECK
      "INSERT INTO parent (code) VALUES ('toolongcode')",           -- unnamed CHECK
      "INSERT INTO parent (code, name) VALUES ('e', NULL)",         -- NOT NULL added
    } do
      assert.has_error(function() h.sqlite_exec(db, bad) end)
    end
    h.sqlite_exec(db, "INSERT INTO parent (code) VALUES ('d'); UPDATE parent SET points = 70 WHERE code = 'b'")
    assert.same({ { "4", "nobody" } }, h.sqlite(db, "SELECT id, name FROM parent WHERE code = 'd'"))
    assert.same({ { "score 70" } }, h.sqlite(db, "SELECT msg FROM audit"))

    ok(dir, "downgrade a1")
    s = h.sqlite(db, "SELECT sql FROM sqlite_master WHERE name = 'parent'")[1][1]
    assert.matches("name VARCHAR(20) DEFAULT 'anon'", s, 1, true)
    assert.matches('"score" INT CONSTRAINT score_range CHECK ("score" BETWEEN 0 AND 100)', s, 1, true)
    assert.equal(3, #h.sqlite(db, "SELECT * FROM parent"))
    assert.equal(3, #h.sqlite(db, "SELECT * FROM child"))
    local idx_after = h.sqlite(db, "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') ORDER BY name")
    assert.equal(#idx_before, #idx_after)
  end)

  it("child rows with ON DELETE CASCADE survive a rebuild of the parent with foreign_keys on", function()
    local dir, db = project {
      rev("b1", nil, SCHEMA),
      rev("b2", "b1", [[
        op.execute("PRAGMA foreign_keys = ON")
        op.alter_column("parent", "name", { type = "text" })
        op.drop_column("parent", "created", { copy_from = "unused online" })
        -- foreign keys are back on after the rebuild: this cascades
        op.execute("DELETE FROM parent WHERE code = 'b'")
      ]], nil, "  transactional = false,"),
    }
    ok(dir, "upgrade b1")
    ok(dir, "upgrade b2")
    assert.same({ { "1", "1", "x" }, { "2", "1", "y" } }, h.sqlite(db, "SELECT id, pid, note FROM child ORDER BY id"))
    assert.same({}, h.sqlite(db, "PRAGMA foreign_key_check"))
  end)

  it("a rebuild that fails leaves the table and its rows as they were", function()
    local dir, db = project {
      rev("c1", nil, SCHEMA),
      rev("c2", "c1", [[
        op.alter_column("parent", "score", { nullable = false })
      ]]),
    }
    ok(dir, "upgrade c1")
    h.sqlite_exec(db, "INSERT INTO parent (code) VALUES ('n')")     -- score NULL
    local before = h.sqlite(db, "SELECT sql FROM sqlite_master ORDER BY name")
    local r = h.run("upgrade c2", { cwd = dir })
    assert.equal(1, r.code)
    assert.matches("NOT NULL constraint failed: lm_new_parent.score", r.err, 1, true)
    assert.same(before, h.sqlite(db, "SELECT sql FROM sqlite_master ORDER BY name"))
    assert.equal(3, #h.sqlite(db, "SELECT * FROM parent"))
    assert.equal(3, #h.sqlite(db, "SELECT * FROM child"))
  end)

  it("warns, naming it, when an index is lost with a dropped column", function()
    local dir, db = project {
      rev("d1", nil, SCHEMA),
      rev("d2", "d1", [[
        op.drop_column("parent", "name")
      ]]),
    }
    ok(dir, "upgrade d1")
    local r = ok(dir, "upgrade d2")
    assert.matches('index "ix_parent_name" dropped: it uses column "name", which was dropped', r.err, 1, true)
    assert.matches('index "ix_parent_lower" dropped: it uses column "name", which was dropped', r.err, 1, true)
    assert.same({ { "ix_parent_hi" } }, h.sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    assert.equal(2, #h.sqlite(db, "SELECT * FROM parent"))
  end)

  it("--sql prints a rebuild from copy_from that replays in sqlite3", function()
    local ddl = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT)"
    local dir, db = project {
      rev("e1", nil, "op.execute(" .. ("%q"):format(ddl) .. ") op.execute(\"INSERT INTO t (a, b) VALUES ('x', 1)\")"),
      rev("e2", "e1", "op.alter_column('t', 'a', { nullable = false, copy_from = " .. ("%q"):format(ddl) .. " })"),
    }
    local r = ok(dir, "upgrade e1:e2 --sql")
    assert.matches('CREATE TABLE "lm_new_t" (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INT);', r.out, 1, true)
    ok(dir, "upgrade e1")
    h.sqlite_exec(db, r.out)
    assert.same({ { "1", "x", "1" } }, h.sqlite(db, "SELECT * FROM t"))
    assert.has_error(function() h.sqlite_exec(db, "INSERT INTO t (a) VALUES (NULL)") end)
  end)
end)
