-- sqlite_rebuild_spec.lua: the SQLite table rebuild (src/sqlite_rebuild.c,
-- src/sqlite_ddl_parse.c) through lmigrate.core's rebuild(), and foreign
-- keys around SQLite transactions (src/backend_sqlite.c). Every spec checks
-- that the rows survive and that the carried-over item still works, with
-- the sqlite3 CLI (h.sqlite).
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"
local h = require "helpers"

describe("SQLite table rebuild #unit", function()
  local dir, db

  before_each(function()
    dir = h.tmpdir()
    db = dir .. "/t.db"
  end)

  after_each(function()
    h.rmdir(dir)
  end)

  local function sql(q) return h.sqlite(db, q) end
  local function exec(q) return h.sqlite_exec(db, q) end
  local function one(q) return (sql(q)[1] or {})[1] end
  local function table_sql(t)
    return one("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '" .. t .. "'")
  end
  local function rebuild(t, alters, opts) return core.rebuild(db, t, alters, opts) end
  -- a harmless alteration that forces a rebuild
  local NOP = { kind = "add_column", add = { name = "zz", type = "integer" } }

  local function rows(q) return sql(q) end

  describe("carries over", function()
    it("NOT NULL", function()
      exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT); INSERT INTO t VALUES (1, 'x', 'y'), (2, 'z', NULL)")
      rebuild("t", { NOP })
      assert.same({ { "1", "x", "y" }, { "2", "z", h.NULL } }, rows("SELECT id, a, b FROM t ORDER BY id"))
      assert.has_error(function() exec("INSERT INTO t (a) VALUES (NULL)") end)
      assert.matches("a TEXT NOT NULL", table_sql("t"), 1, true)
    end)

    it("DEFAULT, including CURRENT_TIMESTAMP and parenthesised expressions", function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT DEFAULT 'it''s',
        n INT DEFAULT -1, at TEXT DEFAULT CURRENT_TIMESTAMP, e INT DEFAULT (6 * 7));
        INSERT INTO t (id) VALUES (1)]])
      rebuild("t", { NOP })
      exec("INSERT INTO t (id) VALUES (2)")
      local r = rows("SELECT id, s, n, at IS NOT NULL, e FROM t ORDER BY id")
      assert.same({ { "1", "it's", "-1", "1", "42" }, { "2", "it's", "-1", "1", "42" } }, r)
      assert.matches("DEFAULT CURRENT_TIMESTAMP", table_sql("t"), 1, true)
      assert.matches("DEFAULT (6 * 7)", table_sql("t"), 1, true)
    end)

    it("COLLATE", function()
      exec("CREATE TABLE t (name TEXT COLLATE NOCASE); INSERT INTO t VALUES ('Abc')")
      rebuild("t", { NOP })
      assert.equal("1", one("SELECT count(*) FROM t WHERE name = 'ABC'"))
    end)

    it("named and unnamed CHECK constraints", function()
      exec([[CREATE TABLE t (a INT CONSTRAINT a_pos CHECK (a > 0), b INT CHECK (b < 10),
        CONSTRAINT ab CHECK (a < b), CHECK (a <> 5)); INSERT INTO t VALUES (1, 2)]])
      rebuild("t", { NOP })
      assert.same({ { "1", "2" } }, rows("SELECT a, b FROM t"))
      for _, bad in ipairs { "(0, 2)", "(1, 11)", "(3, 2)", "(5, 6)" } do
        assert.has_error(function() exec("INSERT INTO t (a, b) VALUES " .. bad) end)
      end
      -- named ones can be dropped by name, at column and table level
      rebuild("t", { { kind = "drop_constraint", name = "a_pos" }, { kind = "drop_constraint", name = "ab" } })
      exec("INSERT INTO t (a, b) VALUES (0, 2); INSERT INTO t (a, b) VALUES (3, 2)")
      assert.has_error(function() exec("INSERT INTO t (a, b) VALUES (5, 6)") end)
    end)

    it("column- and table-level REFERENCES with ON DELETE/ON UPDATE", function()
      exec([[CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
        CREATE TABLE c (id INTEGER PRIMARY KEY,
          pid INT REFERENCES p (id) ON DELETE CASCADE ON UPDATE SET NULL,
          code TEXT, FOREIGN KEY (code) REFERENCES p (code) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED);
        INSERT INTO p VALUES (1, 'a'), (2, 'b');
        INSERT INTO c VALUES (10, 1, 'b'), (11, 2, 'b')]])
      rebuild("c", { NOP })
      local s = table_sql("c")
      assert.matches("REFERENCES p (id) ON DELETE CASCADE ON UPDATE SET NULL", s, 1, true)
      assert.matches("FOREIGN KEY (code) REFERENCES p (code) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED", s, 1, true)
      assert.same({ { "10", "1", "b" }, { "11", "2", "b" } }, rows("SELECT id, pid, code FROM c ORDER BY id"))
      exec("PRAGMA foreign_keys = ON; DELETE FROM p WHERE id = 1")
      assert.same({ { "11", "2", "b" } }, rows("SELECT id, pid, code FROM c ORDER BY id"))
      exec("PRAGMA foreign_keys = ON; UPDATE p SET id = 3 WHERE id = 2")
      assert.same({ { "11", h.NULL, "b" } }, rows("SELECT id, pid, code FROM c ORDER BY id"))
    end)

    it("UNIQUE, column and table level", function()
      exec("CREATE TABLE t (a TEXT UNIQUE, b INT, c INT, UNIQUE (b, c)); INSERT INTO t VALUES ('x', 1, 1)")
      rebuild("t", { NOP })
      assert.has_error(function() exec("INSERT INTO t (a, b, c) VALUES ('x', 2, 2)") end)
      assert.has_error(function() exec("INSERT INTO t (a, b, c) VALUES ('y', 1, 1)") end)
      exec("INSERT INTO t (a, b, c) VALUES ('y', 1, 2)")
    end)

    it("AUTOINCREMENT: the next id continues after the highest ever used", function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT);
        INSERT INTO t (a) VALUES ('a'), ('b'), ('c'); DELETE FROM t WHERE id = 3]])
      rebuild("t", { NOP })
      exec("INSERT INTO t (a) VALUES ('d')")
      assert.same({ { "1", "a" }, { "2", "b" }, { "4", "d" } }, rows("SELECT id, a FROM t ORDER BY id"))
      assert.same({ { "t", "4" } }, rows("SELECT name, seq FROM sqlite_sequence"))
    end)

    it("WITHOUT ROWID", function()
      exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID; INSERT INTO t VALUES ('a', 1), ('b', 2)")
      rebuild("t", { NOP })
      assert.matches("WITHOUT ROWID$", table_sql("t"))
      assert.same({ { "a", "1" }, { "b", "2" } }, rows("SELECT k, v FROM t ORDER BY k"))
    end)

    it("STRICT", function()
      exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT) STRICT; INSERT INTO t VALUES (1, 5)")
      rebuild("t", { NOP })
      assert.matches("STRICT$", table_sql("t"))
      assert.has_error(function() exec("INSERT INTO t VALUES (2, 'text')") end)
      assert.same({ { "1", "5" } }, rows("SELECT id, v FROM t"))
    end)

    it("GENERATED columns (the copy leaves them out)", function()
      exec([[CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS (a * 2) STORED, c INT AS (a + 1));
        INSERT INTO t (a) VALUES (3)]])
      rebuild("t", { NOP })
      assert.same({ { "3", "6", "4" } }, rows("SELECT a, b, c FROM t"))
    end)

    it("plain, partial and expression indexes, verbatim", function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT);
        CREATE INDEX ix_a ON t (a);
        CREATE UNIQUE INDEX ix_b_pos ON t (b) WHERE b > 0;
        CREATE INDEX ix_lower ON t (lower(a), b DESC);
        INSERT INTO t VALUES (1, 'X', 1), (2, 'y', -1)]])
      local before = rows("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
      rebuild("t", { NOP })
      assert.same(before, rows("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"))
      assert.has_error(function() exec("INSERT INTO t (id, a, b) VALUES (3, 'z', 1)") end)
      exec("INSERT INTO t (id, a, b) VALUES (3, 'z', -1)")
      assert.equal("ix_lower", one("SELECT name FROM sqlite_master WHERE name = 'ix_lower'"))
    end)

    it("triggers", function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);
        CREATE TABLE log (msg TEXT);
        CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('ins ' || NEW.a); END;
        INSERT INTO t VALUES (1, 'x')]])
      rebuild("t", { NOP })
      exec("INSERT INTO t (id, a) VALUES (2, 'y')")
      assert.same({ { "ins x" }, { "ins y" } }, rows("SELECT msg FROM log ORDER BY rowid"))
    end)

    it("views on the table, and views on those views", function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);
        CREATE VIEW v AS SELECT id, a FROM t WHERE id > 1;
        CREATE VIEW vv AS SELECT a FROM v;
        CREATE TABLE other (x);
        CREATE TRIGGER o_ins AFTER INSERT ON other BEGIN INSERT INTO t (a) VALUES (NEW.x); END;
        INSERT INTO t VALUES (1, 'x'), (2, 'y')]])
      local r = rebuild("t", { NOP })
      assert.same({}, r.warnings)
      assert.same({ { "y" } }, rows("SELECT a FROM vv"))
      exec("INSERT INTO other VALUES ('z')")
      assert.same({ { "y" }, { "z" } }, rows("SELECT a FROM vv ORDER BY a"))
      -- later ALTERs still pass SQLite's schema check
      exec("ALTER TABLE t RENAME TO t2; ALTER TABLE t2 RENAME TO t")
      assert.same({ { "y" }, { "z" } }, rows("SELECT a FROM vv ORDER BY a"))
    end)

    it("the rowid of a table without an INTEGER PRIMARY KEY", function()
      exec("CREATE TABLE t (a TEXT); INSERT INTO t (rowid, a) VALUES (7, 'x'), (42, 'y')")
      rebuild("t", { NOP })
      assert.same({ { "7", "x" }, { "42", "y" } }, rows("SELECT rowid, a FROM t ORDER BY rowid"))
    end)

    it("quoted identifiers, comments and odd spellings", function()
      exec([=[CREATE TABLE "we ird" ( -- the table
        "id" INTEGER PRIMARY KEY, `sel"ect` TEXT /* a comment, with a comma */ DEFAULT 'a,b',
        [order] INT CHECK ("order" IN (1, 2)), "a.b" TEXT);
        INSERT INTO "we ird" VALUES (1, 'v', 1, 'dot')]=])
      rebuild("we ird", { { kind = "alter_column", column = "a.b", type = "text", nullable = false } })
      assert.same({ { "1", "v", "1", "dot" } }, rows([[SELECT * FROM "we ird"]]))
      local s = table_sql("we ird")
      assert.matches("`sel\"ect` TEXT /* a comment, with a comma */ DEFAULT 'a,b'", s, 1, true)
      assert.matches('"a.b" TEXT NOT NULL', s, 1, true)
    end)
  end)

  describe("alterations", function()
    before_each(function()
      exec([[CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(10) DEFAULT 'n', score INT);
        CREATE INDEX ix_name ON t (name);
        CREATE VIEW v AS SELECT name FROM t;
        INSERT INTO t VALUES (1, 'a', 10), (2, 'b', NULL)]])
    end)

    it("changes a type, with the dialect's type names", function()
      rebuild("t", { { kind = "alter_column", column = "name", type = "string(50)" } })
      assert.matches("name VARCHAR(50) DEFAULT 'n'", table_sql("t"), 1, true)
      assert.same({ { "1", "a", "10" }, { "2", "b", h.NULL } }, rows("SELECT * FROM t ORDER BY id"))
    end)

    it("converts values with using", function()
      rebuild("t", { { kind = "alter_column", column = "score", type = "text", using = "'s' || score" } })
      assert.same({ { "s10" }, { h.NULL } }, rows("SELECT score FROM t ORDER BY id"))
    end)

    it("renames in place: indexes and views follow, no rebuild", function()
      local r = rebuild("t", { { kind = "alter_column", column = "name", new_name = "title" } })
      assert.same({}, r.warnings)
      assert.matches('"title" VARCHAR', table_sql("t"), 1, true)
      assert.matches("title", one("SELECT sql FROM sqlite_master WHERE name = 'ix_name'"))
      assert.same({ { "a" }, { "b" } }, rows("SELECT title FROM v ORDER BY 1"))
    end)

    it("renames and changes the column in one batch, referring to either name", function()
      rebuild("t", {
        { kind = "alter_column", column = "name", nullable = false },
        { kind = "alter_column", column = "name", new_name = "title" },
        { kind = "alter_column", column = "title", type = "text" },
      })
      assert.matches('"title" TEXT DEFAULT \'n\' NOT NULL', table_sql("t"), 1, true)
      assert.same({ { "a" }, { "b" } }, rows("SELECT title FROM v ORDER BY 1"))
      assert.matches("title", one("SELECT sql FROM sqlite_master WHERE name = 'ix_name'"))
    end)

    it("sets and drops NOT NULL; a NULL row makes NOT NULL fail cleanly", function()
      local before = table_sql("t")
      assert.has_error(function()
        rebuild("t", { { kind = "alter_column", column = "score", nullable = false } })
      end, "rebuilding table \"t\": NOT NULL constraint failed: lm_new_t.score (in \"INSERT INTO \"lm_new_t\" (\"id\", \"name\", \"score\") SELECT \"id\", \"name\", \"score\" FROM \"t\"\")")
      assert.equal(before, table_sql("t"))
      exec("UPDATE t SET score = 0 WHERE score IS NULL")
      rebuild("t", { { kind = "alter_column", column = "score", nullable = false } })
      assert.has_error(function() exec("INSERT INTO t (name) VALUES ('c')") end)
      rebuild("t", { { kind = "alter_column", column = "score", nullable = true } })
      exec("INSERT INTO t (name) VALUES ('c')")
    end)

    it("sets and drops defaults (literals as written, expressions in parentheses)", function()
      rebuild("t", {
        { kind = "alter_column", column = "score", server_default = "0" },
        { kind = "alter_column", column = "name", server_default = "lower('X')" },
      })
      exec("INSERT INTO t (id) VALUES (3)")
      assert.same({ { "x", "0" } }, rows("SELECT name, score FROM t WHERE id = 3"))
      assert.matches("score INT DEFAULT 0", table_sql("t"), 1, true)
      assert.matches("DEFAULT (lower('X'))", table_sql("t"), 1, true)
      rebuild("t", { { kind = "alter_column", column = "name", server_default = false } })
      exec("INSERT INTO t (id) VALUES (4)")
      assert.same({ { h.NULL } }, rows("SELECT name FROM t WHERE id = 4"))
    end)

    it("adds a column with the dialect's rendering (references, NOT NULL with default)", function()
      exec("CREATE TABLE p (id INTEGER PRIMARY KEY)")
      rebuild("t", {
        { kind = "add_column", add = { name = "pid", type = "integer", references = "p.id", on_delete = "cascade" } },
        { kind = "add_column", add = { name = "flag", type = "boolean", nullable = false, server_default = "1" } },
      })
      local s = table_sql("t")
      assert.matches('"pid" INTEGER REFERENCES "p" ("id") ON DELETE CASCADE', s, 1, true)
      assert.same({ { "1", h.NULL, "1" }, { "2", h.NULL, "1" } }, rows("SELECT id, pid, flag FROM t ORDER BY id"))
    end)

    it("drops a column; its index is dropped with a warning, the view too", function()
      local r = rebuild("t", { { kind = "drop_column", column = "name" } })
      assert.same({
        'index "ix_name" dropped: it uses column "name", which was dropped',
        'view "v" dropped: it no longer works after the rebuild of "t" (it used a dropped or changed column); re-create it: CREATE VIEW v AS SELECT name FROM t',
      }, r.warnings)
      assert.same({ { "1", "10" }, { "2", h.NULL } }, rows("SELECT * FROM t ORDER BY id"))
      assert.same({}, rows("SELECT name FROM sqlite_master WHERE name IN ('ix_name', 'v')"))
    end)

    it("drops the constraints and triggers that use a dropped column, with warnings", function()
      exec([[CREATE TABLE u (a INT, b INT CHECK (b > a), c INT, CONSTRAINT u_ac UNIQUE (a, c), CHECK (a >= 0));
        CREATE TABLE log (x); CREATE TRIGGER u_a AFTER UPDATE OF a ON u BEGIN INSERT INTO log VALUES (1); END;
        INSERT INTO u VALUES (1, 2, 3)]])
      local r = rebuild("u", { { kind = "drop_column", column = "a" } })
      table.sort(r.warnings)
      assert.same({
        'constraint "u_ac" dropped: it uses column "a", which was dropped',
        'constraint CHECK (a >= 0) dropped: it uses column "a", which was dropped',
        'constraint CHECK (b > a) of column "b" dropped: it uses column "a", which was dropped',
        'trigger "u_a" dropped: it uses column "a", which was dropped',
      }, r.warnings)
      assert.same({ { "2", "3" } }, rows("SELECT b, c FROM u"))
    end)

    it("refuses to drop a primary key column or the last column", function()
      assert.has_error(function() rebuild("t", { { kind = "drop_column", column = "id" } }) end,
        'rebuilding table "t": cannot drop column "id": it is the primary key of table "t"')
      exec("CREATE TABLE k (a INT, b INT, PRIMARY KEY (a, b)); CREATE TABLE s (x)")
      assert.has_error(function() rebuild("k", { { kind = "drop_column", column = "b" } }) end,
        'rebuilding table "k": cannot drop column "b": it is part of the primary key of table "k" (PRIMARY KEY (a, b))')
      assert.has_error(function() rebuild("s", { { kind = "drop_column", column = "x" } }) end,
        'rebuilding table "s": cannot drop column "x": it is the only column of table "s"')
    end)

    it("adds and drops unique, check, primary key and foreign key constraints", function()
      exec("CREATE TABLE p (id INTEGER PRIMARY KEY); INSERT INTO p VALUES (10); CREATE TABLE n (a INT, b INT); INSERT INTO n VALUES (1, 10)")
      rebuild("n", {
        { kind = "add_unique", name = "n_a", cols = { "a" } },
        { kind = "add_check", name = "n_a_pos", check = "a > 0" },
        { kind = "add_primary_key", name = "n_pk", cols = { "a" } },
        { kind = "add_foreign_key", name = "n_b_fk", cols = { "b" }, ref_table = "p", ref_cols = { "id" }, on_delete = "cascade" },
      })
      assert.matches('CONSTRAINT "n_b_fk" FOREIGN KEY ("b") REFERENCES "p" ("id") ON DELETE CASCADE', table_sql("n"), 1, true)
      assert.has_error(function() exec("INSERT INTO n VALUES (1, 10)") end)
      assert.has_error(function() exec("INSERT INTO n VALUES (-1, 10)") end)
      assert.has_error(function() rebuild("n", { { kind = "add_primary_key", cols = { "b" } } }) end,
        'rebuilding table "n": table "n" already has a primary key; drop it first (in the same revision)')
      rebuild("n", { { kind = "drop_constraint", name = "n_a" }, { kind = "drop_constraint", name = "n_a_pos" },
                     { kind = "drop_constraint", name = "n_pk" }, { kind = "drop_constraint", name = "n_b_fk" } })
      assert.equal('CREATE TABLE "n" (a INT, b INT)', table_sql("n"))
      assert.same({ { "1", "10" } }, rows("SELECT * FROM n"))
    end)

    it("names the named constraints when drop_constraint finds none", function()
      exec("CREATE TABLE w (a INT CONSTRAINT w_a CHECK (a > 0), b INT UNIQUE, CONSTRAINT w_b CHECK (b < 9))")
      assert.has_error(function() rebuild("w", { { kind = "drop_constraint", name = "nope" } }) end,
        'rebuilding table "w": table "w" has no constraint named "nope" (its named constraints: "w_b", "w_a"; unnamed constraints cannot be dropped by name)')
    end)

    it("errors name unknown tables and columns and leave the table alone", function()
      assert.has_error(function() rebuild("nope", { NOP }) end, 'no such table: "nope"')
      assert.has_error(function() rebuild("t", { { kind = "alter_column", column = "zzz", type = "text" } }) end,
        'rebuilding table "t": table "t" has no column "zzz"')
      assert.same({ { "1", "a", "10" }, { "2", "b", h.NULL } }, rows("SELECT * FROM t ORDER BY id"))
    end)
  end)

  describe("foreign keys", function()
    before_each(function()
      exec([[CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE child (id INTEGER PRIMARY KEY, pid INT NOT NULL REFERENCES parent (id) ON DELETE CASCADE);
        INSERT INTO parent VALUES (1, 'a'), (2, 'b');
        INSERT INTO child VALUES (10, 1), (11, 1), (12, 2)]])
    end)

    it("child rows with ON DELETE CASCADE survive a rebuild of the parent with foreign_keys on", function()
      local r = rebuild("parent", { { kind = "alter_column", column = "name", type = "text", nullable = false } },
                        { foreign_keys = true })
      assert.equal(1, r.foreign_keys)   -- turned back on after the commit
      assert.same({ { "10", "1" }, { "11", "1" }, { "12", "2" } }, rows("SELECT id, pid FROM child ORDER BY id"))
      assert.equal("0", one("SELECT count(*) FROM pragma_foreign_key_check"))
      -- the cascade still works afterwards
      exec("PRAGMA foreign_keys = ON; DELETE FROM parent WHERE id = 1")
      assert.same({ { "12", "2" } }, rows("SELECT id, pid FROM child ORDER BY id"))
    end)

    it("a foreign_key_check violation fails cleanly and leaves the table as it was", function()
      exec("INSERT INTO child VALUES (13, 99)")    -- an orphan, written with foreign_keys off
      exec("CREATE TABLE c2 (id INTEGER PRIMARY KEY, pid INT); INSERT INTO c2 VALUES (1, 1), (2, 77)")
      local before = table_sql("c2")
      assert.has_error(function()
        rebuild("c2", { { kind = "add_foreign_key", name = "c2_fk", cols = { "pid" }, ref_table = "parent" } },
                { foreign_keys = true })
      end, 'rebuilding table "c2": 1 foreign key violation: c2 rowid 2 references missing parent row')
      assert.equal(before, table_sql("c2"))
      assert.same({ { "1", "1" }, { "2", "77" } }, rows("SELECT * FROM c2 ORDER BY id"))
      -- with foreign keys on, the whole database is checked before COMMIT
      assert.has_error(function() rebuild("parent", { NOP }, { foreign_keys = true }) end,
        "not committed: 1 foreign key violation (PRAGMA foreign_key_check): child rowid 13 references a missing parent row")
      assert.is_nil(one("SELECT name FROM pragma_table_info('parent') WHERE name = 'zz'"))
    end)

    it("foreign keys of child tables follow a renamed parent column", function()
      rebuild("parent", { { kind = "alter_column", column = "id", new_name = "pk" }, NOP }, { foreign_keys = true })
      assert.matches('REFERENCES parent ("pk")', table_sql("child"), 1, true)
      assert.equal("0", one("SELECT count(*) FROM pragma_foreign_key_check"))
    end)
  end)

  describe("offline (--sql)", function()
    it("needs copy_from", function()
      assert.has_error(function() rebuild("t", { NOP }, { offline = true }) end,
        'alter on SQLite in --sql mode needs the table\'s definition: pass copy_from = "CREATE TABLE ..."')
    end)

    it("prints the steps, which replay in sqlite3 to the same result as online", function()
      local ddl = [[CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT NOT NULL, b INT);
        CREATE INDEX ix_b ON t (b)]]
      exec(ddl .. "; INSERT INTO t (a, b) VALUES ('x', 1), ('y', 2)")
      local alters = {
        { kind = "alter_column", column = "a", new_name = "title" },
        { kind = "alter_column", column = "b", type = "bigint", server_default = "0" },
      }
      local r = rebuild("t", alters, { offline = true, copy_from = ddl })
      assert.matches('ALTER TABLE "t" RENAME COLUMN "a" TO "title";', r.sql, 1, true)
      assert.matches('CREATE TABLE "lm_new_t" (id INTEGER PRIMARY KEY AUTOINCREMENT, "title" TEXT NOT NULL, b BIGINT DEFAULT 0);', r.sql, 1, true)
      assert.matches("CREATE INDEX ix_b ON t (b);", r.sql, 1, true)
      assert.equal(1, #r.warnings)
      assert.matches("rebuilt offline", r.warnings[1])
      exec(r.sql)
      assert.same({ { "1", "x", "1" }, { "2", "y", "2" } }, rows("SELECT id, title, b FROM t ORDER BY id"))
      assert.equal("ix_b", one("SELECT name FROM sqlite_master WHERE type = 'index'"))
      assert.equal("2", one("SELECT seq FROM sqlite_sequence WHERE name = 't'"))
    end)
  end)
end)
