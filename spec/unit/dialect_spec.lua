-- dialect_spec.lua: SQL rendering of every op through the SQLite dialect
-- (src/dialect_sqlite.c, src/dialect_common.c) and the offline --sql
-- backend (src/backend_offline.c), through lmigrate.core's render().
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

-- The SQL printed by fn(op) against the offline SQLite backend.
local function sql(fn, transactional, x)
  return core.render("sqlite", fn, transactional, x)
end

-- The error raised by fn(op), as a string.
local function err(fn)
  local ok, e = pcall(core.render, "sqlite", fn)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

-- The file:line prefix of the line calling this function's caller.
local function here(level)
  local info = debug.getinfo((level or 1) + 1, "Sl")
  return info.short_src .. ":" .. info.currentline .. ": "
end

describe("sqlite dialect #unit", function()
  describe("create_table", function()
    it("renders columns, primary key, defaults and references", function()
      assert.equal([[
CREATE TABLE "users" (
  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  "email" VARCHAR(255) NOT NULL UNIQUE,
  "name" TEXT,
  "org_id" INTEGER REFERENCES "orgs" ("id") ON DELETE CASCADE ON UPDATE SET NULL,
  "active" BOOLEAN NOT NULL DEFAULT 1,
  "created_at" DATETIME NOT NULL DEFAULT (CURRENT_TIMESTAMP)
);
]], sql(function(op)
        op.create_table("users",
          { "id", "integer", primary_key = true, autoincrement = true },
          { "email", "string(255)", nullable = false, unique = true },
          { "name", "text" },
          { "org_id", "integer", references = "orgs.id", on_delete = "cascade",
            on_update = "set null" },
          { "active", "boolean", nullable = false, default = true },
          { "created_at", "timestamp", nullable = false,
            server_default = "CURRENT_TIMESTAMP" })
      end))
    end)

    it("uses a table-level PRIMARY KEY for several key columns", function()
      assert.equal([[
CREATE TABLE IF NOT EXISTS "memberships" (
  "user_id" INTEGER NOT NULL,
  "group_id" INTEGER NOT NULL,
  PRIMARY KEY ("user_id", "group_id")
);
]], sql(function(op)
        op.create_table("memberships",
          { "user_id", "integer", primary_key = true },
          { "group_id", "integer", primary_key = true },
          { if_not_exists = true })
      end))
    end)

    it("inlines a single non-autoincrement primary key", function()
      assert.equal('CREATE TABLE "k" (\n  "code" VARCHAR(8) NOT NULL PRIMARY KEY\n);\n',
        sql(function(op)
          op.create_table("k", { "code", "string(8)", primary_key = true })
        end))
    end)

    it("renders an autoincrement bigint key as INTEGER", function()
      assert.matches('"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT',
        sql(function(op)
          op.create_table("t", { "id", "bigint", primary_key = true, autoincrement = true })
        end), 1, true)
    end)

    it("renders every default literal", function()
      local out = sql(function(op)
        op.create_table("d",
          { "a", "text", default = "it's" },
          { "b", "integer", default = -42 },
          { "c", "float", default = 2.0 },
          { "d", "float", default = 0.1 },
          { "e", "boolean", default = false },
          { "f", "text", default = op.null },
          { "g", "text", server_default = "(datetime('now'))" })
      end)
      assert.matches([["a" TEXT DEFAULT 'it''s']], out, 1, true)
      assert.matches([["b" INTEGER DEFAULT -42]], out, 1, true)
      assert.matches([["c" FLOAT DEFAULT 2.0]], out, 1, true)
      assert.matches([["d" FLOAT DEFAULT 0.1,]], out, 1, true)
      assert.matches([["e" BOOLEAN DEFAULT 0]], out, 1, true)
      assert.matches([["f" TEXT DEFAULT NULL]], out, 1, true)
      assert.matches([["g" TEXT DEFAULT ((datetime('now')))]], out, 1, true)
    end)

    it("quotes schema-qualified references", function()
      assert.matches([[REFERENCES "main"."orgs" ("id")]], sql(function(op)
        op.create_table("t", { "o", "integer", references = "main.orgs.id" })
      end), 1, true)
    end)

    it("rejects bad column specs", function()
      assert.matches("autoincrement needs a single integer primary key column",
        err(function(op)
          op.create_table("t", { "id", "integer", autoincrement = true })
        end), 1, true)
      assert.matches('autoincrement needs an integer type, not "text"',
        err(function(op)
          op.create_table("t", { "id", "text", primary_key = true, autoincrement = true })
        end), 1, true)
      assert.matches("autoincrement needs a single integer primary key column",
        err(function(op)
          op.create_table("t", { "a", "integer", primary_key = true, autoincrement = true },
            { "b", "integer", primary_key = true })
        end), 1, true)
      assert.matches("give default or server_default, not both", err(function(op)
        op.create_table("t", { "a", "text", default = "x", server_default = "'y'" })
      end), 1, true)
      assert.matches('on_delete = "explode" is not one of CASCADE', err(function(op)
        op.create_table("t", { "a", "integer", references = "o.id", on_delete = "explode" })
      end), 1, true)
      assert.matches("on_delete/on_update need references", err(function(op)
        op.create_table("t", { "a", "integer", on_delete = "cascade" })
      end), 1, true)
      assert.matches('references = "orgs" must be "table.column"', err(function(op)
        op.create_table("t", { "a", "integer", references = "orgs" })
      end), 1, true)
      assert.matches("a primary key cannot be nullable", err(function(op)
        op.create_table("t", { "a", "integer", primary_key = true, nullable = true })
      end), 1, true)
      assert.matches('create_table "t": a table needs at least one column spec',
        err(function(op) op.create_table("t") end), 1, true)
      assert.matches("column spec needs the column name", err(function(op)
        op.create_table("t", { nil, "text" })
      end), 1, true)
      assert.matches('column "a" needs a type', err(function(op)
        op.create_table("t", { "a" })
      end), 1, true)
      assert.matches("option 'default' must be a string, number, boolean or op.null, got table",
        err(function(op) op.create_table("t", { "a", "text", default = {} }) end), 1, true)
    end)
  end)

  describe("types", function()
    local cases = {
      { "integer", "INTEGER" }, { "bigint", "BIGINT" }, { "smallint", "SMALLINT" },
      { "string(20)", "VARCHAR(20)" }, { "string", "VARCHAR" }, { "text", "TEXT" },
      { "boolean", "BOOLEAN" }, { "float", "FLOAT" }, { "numeric(10,2)", "NUMERIC(10,2)" },
      { "numeric( 10 , 2 )", "NUMERIC(10,2)" }, { "numeric(12)", "NUMERIC(12)" },
      { "numeric", "NUMERIC" }, { "date", "DATE" }, { "timestamp", "DATETIME" },
      { "timestamptz", "DATETIME" }, { "uuid", "CHAR(32)" }, { "json", "JSON" },
      { "bytes", "BLOB" }, { "Integer", "INTEGER" },
      { "VARCHAR(3) COLLATE NOCASE", "VARCHAR(3) COLLATE NOCASE" },
      { "double precision", "double precision" }, { "jsonb", "jsonb" },
    }
    for _, c in ipairs(cases) do
      it("maps " .. c[1] .. " to " .. c[2], function()
        assert.equal('CREATE TABLE "t" (\n  "c" ' .. c[2] .. '\n);\n', sql(function(op)
          op.create_table("t", { "c", c[1] })
        end))
      end)
    end

    it("rejects arguments on types that take none", function()
      assert.matches('type "integer(5)" takes no arguments (write "integer")',
        err(function(op) op.create_table("t", { "c", "integer(5)" }) end), 1, true)
      assert.matches('type "string(1,2)" takes at most 1 argument',
        err(function(op) op.create_table("t", { "c", "string(1,2)" }) end), 1, true)
    end)
  end)

  describe("quoting", function()
    it("quotes reserved words, mixed case, embedded quotes and dots", function()
      assert.equal([[
CREATE TABLE "main"."Order" (
  "select" INTEGER,
  "we""ird" TEXT,
  "MixedCase" TEXT,
  "with space" TEXT
);
]], sql(function(op)
        op.create_table("main.Order", { "select", "integer" }, { 'we"ird', "text" },
          { "MixedCase", "text" }, { "with space", "text" })
      end))
    end)

    it("rejects empty names and names with NUL bytes", function()
      assert.matches("bad argument #1 to 'drop_table' (table name must not be empty)",
        err(function(op) op.drop_table("") end), 1, true)
      assert.matches("bad argument #1 to 'drop_table' (table name contains a NUL byte)",
        err(function(op) op.drop_table("a\0b") end), 1, true)
      assert.matches("bad argument #2 to 'drop_column' (column name must not be empty)",
        err(function(op) op.drop_column("t", "") end), 1, true)
    end)
  end)

  describe("other schema operations", function()
    it("drop_table", function()
      assert.equal('DROP TABLE "t";\nDROP TABLE IF EXISTS "s"."t";\n', sql(function(op)
        op.drop_table("t")
        op.drop_table("s.t", { if_exists = true })
      end))
    end)

    it("rename_table", function()
      assert.equal('ALTER TABLE "old" RENAME TO "new";\n', sql(function(op)
        op.rename_table("old", "new")
      end))
      assert.matches("SQLite cannot move a table to another schema", err(function(op)
        op.rename_table("a", "s.b")
      end), 1, true)
    end)

    it("add_column and drop_column", function()
      assert.equal('ALTER TABLE "users" ADD COLUMN "phone" VARCHAR(20);\n'
        .. 'ALTER TABLE "users" ADD COLUMN "n" INTEGER NOT NULL DEFAULT 0;\n'
        .. 'ALTER TABLE "users" DROP COLUMN "phone";\n', sql(function(op)
        op.add_column("users", { "phone", "string(20)", nullable = true })
        op.add_column("users", { "n", "integer", nullable = false, default = 0 })
        op.drop_column("users", "phone")
      end))
    end)

    it("sends what SQLite's ADD COLUMN cannot do to a table rebuild", function()
      -- offline, a rebuild needs the table's CREATE TABLE text (copy_from)
      for _, col in ipairs({ { "n", "integer", nullable = false },
                             { "e", "text", unique = true },
                             { "id", "integer", primary_key = true } }) do
        local e = err(function(op) op.add_column("users", col) end)
        assert.matches('add_column "users"', e, 1, true)
        assert.matches("copy_from", e, 1, true)
      end
    end)

    it("create_index with every option", function()
      assert.equal('CREATE INDEX "ix_a" ON "t" ("a");\n'
        .. 'CREATE UNIQUE INDEX IF NOT EXISTS "ix_ab" ON "t" ("a", "B") WHERE a > 0;\n'
        .. 'CREATE INDEX "s"."ix_c" ON "t" ("c");\n'
        .. 'CREATE INDEX "ix_d" ON "t" ("d");\n', sql(function(op)
        op.create_index("ix_a", "t", { "a" })
        op.create_index("ix_ab", "t", { "a", "B" },
          { unique = true, if_not_exists = true, where = "a > 0" })
        op.create_index("ix_c", "s.t", { "c" })
        op.create_index("ix_d", "t", "d", { concurrently = true })
      end))
    end)

    it("drop_index", function()
      assert.equal('DROP INDEX "ix";\nDROP INDEX IF EXISTS "ix";\nDROP INDEX "s"."ix";\n',
        sql(function(op)
          op.drop_index("ix")
          op.drop_index("ix", { if_exists = true, concurrently = true })
          op.drop_index("ix", { table = "s.t" })
        end))
    end)

    it("accepts concurrently in a transactional revision on SQLite", function()
      assert.equal('CREATE INDEX "ix" ON "t" ("a");\n', sql(function(op)
        op.create_index("ix", "t", { "a" }, { concurrently = true })
      end, true))
    end)

    it("rejects an empty column list", function()
      assert.matches("bad argument #3 to 'create_index' (an index needs at least one column)",
        err(function(op) op.create_index("ix", "t", {}) end), 1, true)
      assert.matches("bad argument #3 to 'create_index' (column 2 must be a non-empty column name)",
        err(function(op) op.create_index("ix", "t", { "a", 3 }) end), 1, true)
    end)
  end)

  describe("strict options", function()
    it("suggests the closest key, with the caller's file:line", function()
      local where
      local e = err(function(op)
        where = here(); op.add_column("users", { "phone", "text", nulable = true })
      end)
      assert.equal(where .. "unknown option 'nulable' for add_column (did you mean 'nullable'?)", e)
    end)

    it("suggests for table and index options too", function()
      assert.matches("unknown option 'if_not_exist' for create_table (did you mean 'if_not_exists'?)",
        err(function(op) op.create_table("t", { "a", "text" }, { if_not_exist = true }) end), 1, true)
      assert.matches("unknown option 'uniqe' for create_index (did you mean 'unique'?)",
        err(function(op) op.create_index("ix", "t", { "a" }, { uniqe = true }) end), 1, true)
      assert.matches("unknown option 'ifexists' for drop_table (did you mean 'if_exists'?)",
        err(function(op) op.drop_table("t", { ifexists = true }) end), 1, true)
      assert.matches("unknown option 'tabel' for drop_index (did you mean 'table'?)",
        err(function(op) op.drop_index("ix", { tabel = "t" }) end), 1, true)
    end)

    it("lists the valid keys when nothing is close", function()
      assert.matches("unknown option 'colour' for drop_index (valid options: table, if_exists, concurrently)",
        err(function(op) op.drop_index("ix", { colour = "red" }) end), 1, true)
    end)

    it("names the key of a wrongly typed value", function()
      assert.matches("bad argument #2 to 'add_column' (option 'nullable' must be a boolean, got string)",
        err(function(op) op.add_column("t", { "a", "text", nullable = "yes" }) end), 1, true)
      assert.matches("bad argument #4 to 'create_index' (option 'where' must be a string, got number)",
        err(function(op) op.create_index("ix", "t", { "a" }, { where = 1 }) end), 1, true)
    end)

    it("rejects extra positional values", function()
      assert.matches("unexpected number key 3 in the options for add_column",
        err(function(op) op.add_column("t", { "a", "text", "oops" }) end), 1, true)
    end)
  end)

  describe("literals in offline execute", function()
    it("substitutes every value type", function()
      assert.equal("SELECT 'it''s', 42, -7, 1.5, 2.0, 1e+20, NULL, NULL, 1, 0, 'ü', 0.1;\n",
        sql(function(op)
          op.execute("SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12",
            { "it's", 42, -7, 1.5, 2.0, 1e20, op.null, nil, true, false, "ü", 0.1 })
        end))
    end)

    it("leaves strings, identifiers, comments and dollar quotes alone", function()
      assert.equal([[
SELECT '$1', "$1", $a$ $1 $a$, $$ $2 $$, 'x' -- $1
/* $2 */ , 10, 20, 10;
]], sql(function(op)
        op.execute([[SELECT '$1', "$1", $a$ $1 $a$, $$ $2 $$, 'x' -- $1
/* $2 */ , $1, $2, $1]], { 10, 20 })
      end))
    end)

    it("puts the ';' after a trailing line comment on its own line", function()
      assert.equal("SELECT 1 -- done\n;\n", sql(function(op)
        op.execute("SELECT 1 -- done\n")
      end))
    end)

    it("keeps an existing ';' and trims trailing space", function()
      assert.equal("SELECT 1;\n", sql(function(op) op.execute("SELECT 1;  \n") end))
    end)

    it("rejects $N beyond the parameters", function()
      assert.matches("execute: parameter $2 is out of range (1 parameter given)",
        err(function(op) op.execute("SELECT $1, $2", { 1 }) end), 1, true)
      assert.matches("execute: parameter $1 is out of range (0 parameters given)",
        err(function(op) op.execute("SELECT $1") end), 1, true)
    end)

    it("rejects unsupported parameter types", function()
      assert.matches("bad argument #2 to 'execute' (table not supported as SQL parameter 3)",
        err(function(op) op.execute("SELECT $1", { 1, 2, {} }) end), 1, true)
      assert.matches("bad argument #2 to 'execute' (function not supported as SQL parameter 1)",
        err(function(op) op.execute("SELECT $1", { print }) end), 1, true)
    end)

    it("spells text with NUL bytes and bare NaN safely", function()
      assert.equal("SELECT CAST(X'6100' AS TEXT), NULL, 1e999;\n", sql(function(op)
        op.execute("SELECT $1, $2, $3", { "a\0", 0/0, math.huge })
      end))
    end)
  end)

  describe("offline op", function()
    it("exposes dialect, offline, null and x", function()
      sql(function(op)
        assert.equal("sqlite", op.dialect)
        assert.is_true(op.offline)
        assert.equal(core.null, op.null)
        assert.same({}, op.x)
      end)
    end)

    it("passes the -x table as op.x", function()
      sql(function(op)
        assert.equal("1", op.x.tenant)
      end, true, { tenant = "1" })
    end)

    it("reads parameters up to t.n so table.pack keeps trailing nils", function()
      assert.equal("SELECT 1, NULL;\n", sql(function(op)
        op.execute("SELECT $1, $2", table.pack(1, nil))
      end))
      assert.matches("parameter $2 is out of range (1 parameter given)",
        err(function(op) op.execute("SELECT $1, $2", { 1, nil }) end), 1, true)
    end)

    it("refuses queries with --sql", function()
      assert.matches("op.query needs a database connection; it cannot run with --sql (offline mode)",
        err(function(op) op.query("SELECT 1") end), 1, true)
      assert.matches("op.rows needs a database connection; it cannot run with --sql (offline mode)",
        err(function(op) op.rows("SELECT 1") end), 1, true)
    end)

    it("explains a method call op:f() instead of op.f()", function()
      assert.matches("call op.drop_table(...) with a dot, not op:drop_table(...)",
        err(function(op) op:drop_table("t") end), 1, true)
    end)

    it("raises when used after its revision", function()
      local saved
      sql(function(op) saved = op end)
      local ok, e = pcall(function() saved.execute("SELECT 1") end)
      assert.is_false(ok)
      assert.matches("op used outside of its revision$", e)
    end)
  end)
end)
