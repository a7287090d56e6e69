-- op_schema_spec.lua: the ops of src/op_schema.c rendered on both dialects
-- through lmigrate.core's render() (the offline --sql backend), their
-- option errors, the batching of SQLite rebuilds (src/op_batch.c), and
-- bulk_insert / inline_literal against a real SQLite file.
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

local function pg(fn) return core.render("postgresql", fn) end
local function lite(fn) return core.render("sqlite", fn) end

-- The error raised by fn(op) on dialect d, as a string.
local function err(d, fn)
  local ok, e = pcall(core.render, d, fn)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

-- "file:line: " of the caller's line.
local function here()
  local info = debug.getinfo(2, "Sl")
  return info.short_src .. ":" .. info.currentline .. ": "
end

describe("op schema ops #unit", function()
  describe("alter_column", function()
    it("renders every clause on PostgreSQL, RENAME on its own", function()
      assert.equal([[
ALTER TABLE "users" ALTER COLUMN "email" TYPE VARCHAR(300) USING email::varchar(300),
  ALTER COLUMN "email" SET NOT NULL,
  ALTER COLUMN "email" SET DEFAULT 'x';
ALTER TABLE "users" RENAME COLUMN "email" TO "mail";
ALTER TABLE "s"."t" ALTER COLUMN "a" DROP NOT NULL,
  ALTER COLUMN "a" DROP DEFAULT;
ALTER TABLE "t" ALTER COLUMN "n" TYPE BIGINT;
]], pg(function(op)
        op.alter_column("users", "email", { type = "string(300)",
          using = "email::varchar(300)", nullable = false,
          server_default = "'x'", new_name = "mail" })
        op.alter_column("s.t", "a", { nullable = true, server_default = false })
        op.alter_column("t", "n", { type = "bigint" })
      end))
    end)

    it("sets and drops column comments on PostgreSQL (after a rename: the new name)", function()
      assert.equal([[
ALTER TABLE "t" RENAME COLUMN "a" TO "b";
COMMENT ON COLUMN "t"."b" IS 'it''s b';
COMMENT ON COLUMN "t"."b" IS NULL;
]], pg(function(op)
        op.alter_column("t", "a", { new_name = "b", comment = "it's b" })
        op.alter_column("t", "b", { comment = false })
      end))
    end)

    it("renames with ALTER TABLE RENAME COLUMN on SQLite", function()
      assert.equal('ALTER TABLE "t" RENAME COLUMN "a" TO "b";\n', lite(function(op)
        op.alter_column("t", "a", { new_name = "b" })
      end))
    end)

    it("checks its options", function()
      local where
      local e = err("sqlite", function(op)
        where = here(); op.alter_column("t", "a", { nulable = false })
      end)
      assert.equal(where .. "unknown option 'nulable' for alter_column (did you mean 'nullable'?)", e)
      assert.matches("nothing to alter", err("postgresql", function(op)
        op.alter_column("t", "a", {})
      end), 1, true)
      assert.matches("using needs type", err("postgresql", function(op)
        op.alter_column("t", "a", { using = "a::int" })
      end), 1, true)
      assert.matches("option 'server_default' must be a string, or false to drop it",
        err("postgresql", function(op)
          op.alter_column("t", "a", { server_default = true })
        end), 1, true)
      assert.matches("option 'nullable' must be a boolean", err("postgresql", function(op)
        op.alter_column("t", "a", { nullable = "no" })
      end), 1, true)
      assert.matches('type "text(3)" takes no arguments', err("sqlite", function(op)
        op.alter_column("t", "a", { type = "text(3)", copy_from = "CREATE TABLE t (a)" })
      end), 1, true)
    end)

    it("refuses comments on SQLite, before anything runs", function()
      local e = err("sqlite", function(op)
        op.alter_column("t", "a", { new_name = "b", comment = "x" })
      end)
      assert.matches("SQLite has no table or column comments", e, 1, true)
    end)
  end)

  describe("constraints", function()
    it("render as ALTER TABLE ADD/DROP CONSTRAINT on PostgreSQL", function()
      assert.equal([[
ALTER TABLE "orders" ADD CONSTRAINT "fk_orders_user" FOREIGN KEY ("user_id", "org") REFERENCES "app"."users" ("id", "org") ON DELETE CASCADE ON UPDATE SET NULL;
ALTER TABLE "users" ADD CONSTRAINT "uq_email" UNIQUE ("email");
ALTER TABLE "users" ADD CONSTRAINT "ck_age" CHECK (age >= 0);
ALTER TABLE "users" ADD CONSTRAINT "pk_users" PRIMARY KEY ("id", "org");
ALTER TABLE "users" DROP CONSTRAINT "uq_email";
ALTER TABLE "users" DROP CONSTRAINT "ck_age";
]], pg(function(op)
        op.create_foreign_key("fk_orders_user", "orders", "app.users",
          { "user_id", "org" }, { "id", "org" },
          { on_delete = "cascade", on_update = "set_null" })
        op.create_unique_constraint("uq_email", "users", { "email" })
        op.create_check_constraint("ck_age", "users", "age >= 0")
        op.create_primary_key("pk_users", "users", { "id", "org" })
        op.drop_constraint("uq_email", "users", { type_ = "unique" })
        op.drop_constraint("ck_age", "users")
      end))
    end)

    it("check their arguments", function()
      assert.matches("2 local columns but 1 referenced column", err("postgresql", function(op)
        op.create_foreign_key("fk", "a", "b", { "x", "y" }, { "id" })
      end), 1, true)
      assert.matches('on_delete = "explode" is not one of CASCADE', err("postgresql", function(op)
        op.create_foreign_key("fk", "a", "b", "x", "id", { on_delete = "explode" })
      end), 1, true)
      assert.matches("unknown option 'ondelete' for create_foreign_key (did you mean 'on_delete'?)",
        err("postgresql", function(op)
          op.create_foreign_key("fk", "a", "b", "x", "id", { ondelete = "cascade" })
        end), 1, true)
      assert.matches('type_ = "uniq" is not a constraint type (did you mean "unique"?)',
        err("postgresql", function(op)
          op.drop_constraint("uq", "t", { type_ = "uniq" })
        end), 1, true)
      assert.matches("a constraint needs at least one column", err("postgresql", function(op)
        op.create_unique_constraint("uq", "t", {})
      end), 1, true)
      assert.matches("check condition must not be empty", err("postgresql", function(op)
        op.create_check_constraint("ck", "t", "")
      end), 1, true)
    end)
  end)

  describe("comments and schemas", function()
    it("render on PostgreSQL", function()
      assert.equal([[
COMMENT ON TABLE "app"."users" IS 'People; it''s them';
COMMENT ON TABLE "app"."users" IS NULL;
CREATE SCHEMA "app";
CREATE SCHEMA IF NOT EXISTS "app";
DROP SCHEMA "app";
DROP SCHEMA IF EXISTS "app" CASCADE;
]], pg(function(op)
        op.create_table_comment("app.users", "People; it's them")
        op.drop_table_comment("app.users")
        op.create_schema("app")
        op.create_schema("app", { if_not_exists = true })
        op.drop_schema("app")
        op.drop_schema("app", { if_exists = true, cascade = true })
      end))
    end)

    it("are errors on SQLite that say why", function()
      local where
      local e = err("sqlite", function(op)
        where = here(); op.create_table_comment("t", "x")
      end)
      assert.equal(where .. 'create_table_comment "t": SQLite has no table or column '
        .. 'comments (COMMENT ON is PostgreSQL only); guard the call with '
        .. '`if op.dialect == "postgresql"`', e)
      assert.matches("SQLite has no table or column comments", err("sqlite", function(op)
        op.drop_table_comment("t")
      end), 1, true)
      assert.matches("SQLite has no schemas", err("sqlite", function(op)
        op.create_schema("app")
      end), 1, true)
      assert.matches("SQLite has no schemas", err("sqlite", function(op)
        op.drop_schema("app", { cascade = true })
      end), 1, true)
      assert.matches("unknown option 'casade' for drop_schema (did you mean 'cascade'?)",
        err("postgresql", function(op) op.drop_schema("app", { casade = true }) end), 1, true)
    end)
  end)

  describe("SQLite rebuilds", function()
    it("need copy_from offline, reported at the first queued op's line", function()
      local where
      local e = err("sqlite", function(op)
        where = here(); op.alter_column("users", "email", { nullable = false })
        op.create_check_constraint("ck", "users", "length(email) > 3")
      end)
      local prefix = where .. 'alter_column "users": '
      assert.equal(prefix, e:sub(1, #prefix))
      assert.matches("copy_from", e, #prefix, true)
    end)

    it("run before any other op (the batch is flushed in order)", function()
      local out = lite(function(op)
        op.alter_column("users", "email", { nullable = false,
          copy_from = 'CREATE TABLE "users" ("id" INTEGER PRIMARY KEY, "email" TEXT)' })
        op.execute("SELECT 'after'")
      end)
      local after = out:find("SELECT 'after'", 1, true)
      assert.truthy(after)
      assert.truthy(out:find("users", 1, true) < after)
    end)

    it("leave plain ALTERs alone", function()
      assert.equal('ALTER TABLE "t" DROP COLUMN "a";\n'
        .. 'ALTER TABLE "t" ADD COLUMN "b" INTEGER REFERENCES "u" ("id");\n',
        lite(function(op)
          op.drop_column("t", "a")
          op.add_column("t", { "b", "integer", references = "u.id" })
        end))
    end)
  end)

  describe("bulk_insert", function()
    it("renders multi-row inserts with literals offline", function()
      assert.equal([[
INSERT INTO "t" ("a", "b") VALUES (1, 'x'), (2, NULL), (3, 'it''s');
INSERT INTO "t" ("id", "name") VALUES (1, 'a'), (2, TRUE);
]], pg(function(op)
        assert.equal(3, op.bulk_insert("t", { { a = 1, b = "x" }, { a = 2 }, { b = "it's", a = 3 } }))
        assert.equal(2, op.bulk_insert("t", { { 1, "a" }, { 2, true } }, { columns = { "id", "name" } }))
        assert.equal(0, op.bulk_insert("t", {}))
      end))
    end)

    it("chunks: small statements on SQLite, up to 1000 rows on PostgreSQL", function()
      local rows = {}
      for i = 1, 2500 do rows[i] = { i } end
      local out = pg(function(op)
        assert.equal(2500, op.bulk_insert("t", rows, { columns = { "id" } }))
      end)
      assert.equal(3, select(2, out:gsub("INSERT INTO", "")))
      -- SQLite parses each $N name with a linear lookup: 64 parameters a statement
      out = lite(function(op)
        assert.equal(200, op.bulk_insert("t", { table.unpack(rows, 1, 200) }, { columns = { "id" } }))
      end)
      assert.equal(4, select(2, out:gsub("INSERT INTO", "")))
      local cols, wide = {}, {}
      for c = 1, 40 do cols[c] = "c" .. c end
      for i = 1, 1000 do
        local r = {}
        for c = 1, 40 do r[c] = i end
        wide[i] = r
      end
      out = pg(function(op) op.bulk_insert("t", wide, { columns = cols }) end)
      -- 16384 / 40 = 409 rows per statement
      assert.equal(3, select(2, out:gsub("INSERT INTO", "")))
      assert.equal(409, select(2, out:match("^[^\n]*"):gsub("%), %(", "")) + 1)
      out = lite(function(op) op.bulk_insert("t", { wide[1], wide[2] }, { columns = cols }) end)
      assert.equal(2, select(2, out:gsub("INSERT INTO", "")))
    end)

    it("checks rows", function()
      assert.matches('row 2 has unknown column "nmae" (did you mean "name"?)',
        err("sqlite", function(op)
          op.bulk_insert("t", { { id = 1, name = "a" }, { id = 2, nmae = "b" } })
        end), 1, true)
      assert.matches("rows given as arrays need { columns = {...} }", err("sqlite", function(op)
        op.bulk_insert("t", { { 1, "a" } })
      end), 1, true)
      assert.matches("row 1 has 3 values for 2 columns", err("sqlite", function(op)
        op.bulk_insert("t", { { 1, 2, 3 } }, { columns = { "a", "b" } })
      end), 1, true)
      assert.matches('row 1, column "a": table is not a SQL value', err("sqlite", function(op)
        op.bulk_insert("t", { { a = {} } })
      end), 1, true)
      assert.matches("row 2 must be a table, got number", err("sqlite", function(op)
        op.bulk_insert("t", { { a = 1 }, 5 })
      end), 1, true)
      assert.matches("unknown option 'column' for bulk_insert (did you mean 'columns'?)",
        err("sqlite", function(op)
          op.bulk_insert("t", { { a = 1 } }, { column = { "a" } })
        end), 1, true)
    end)
  end)

  describe("inline_literal", function()
    it("quotes per dialect", function()
      core.render("sqlite", function(op)
        assert.equal("'it''s'", op.inline_literal("it's"))
        assert.equal("1", op.inline_literal(true))
        assert.equal("NULL", op.inline_literal(op.null))
        assert.equal("42", op.inline_literal(42))
        assert.equal("1.5", op.inline_literal(1.5))
      end)
      core.render("postgresql", function(op)
        assert.equal("TRUE", op.inline_literal(true))
        assert.equal("'a''b'", op.inline_literal("a'b"))
      end)
      assert.matches("table cannot be a SQL literal", err("sqlite", function(op)
        op.inline_literal({})
      end), 1, true)
    end)
  end)
end)

describe("op schema ops against SQLite #unit", function()
  local path, conn

  before_each(function()
    path = os.tmpname()
    conn = core.connect("sqlite:" .. path)
  end)

  after_each(function()
    conn:close()
    os.remove(path)
  end)

  it("bulk_insert binds every value and is fast", function()
    local n = conn:run(function(op)
      op.create_table("t", { "id", "integer", primary_key = true },
        { "name", "text" }, { "score", "float" }, { "ok", "boolean" })
      local rows = {}
      for i = 1, 20000 do
        rows[i] = { id = i, name = (i % 7 == 0) and op.null or ("n'" .. i),
                    score = i / 4, ok = i % 2 == 0 }
      end
      local t0 = os.clock()
      assert.equal(20000, op.bulk_insert("t", rows))
      assert.is_true(os.clock() - t0 < 5)
      local r = op.query("SELECT COUNT(*) AS n, COUNT(name) AS names, SUM(ok) AS oks, "
        .. "MAX(score) AS top FROM t")[1]
      assert.same({ n = 20000, names = 20000 - 2857, oks = 10000, top = 5000.0 }, r)
      assert.same({ { name = "n'3" } }, op.query("SELECT name FROM t WHERE id = 3"))
      return r.n
    end, true)
    assert.equal(20000, n)
  end)

  it("inline_literal works in op.execute", function()
    local rows = conn:run(function(op)
      op.create_table("t", { "s", "text" })
      op.execute("INSERT INTO t (s) VALUES (" .. op.inline_literal("it's") .. ")")
      return op.query("SELECT s FROM t")
    end)
    assert.same({ { s = "it's" } }, rows)
  end)

  it("drops a plain column and renames one with ALTER TABLE", function()
    local cols = conn:run(function(op)
      op.create_table("t", { "id", "integer", primary_key = true }, { "a", "text" },
        { "b", "text" })
      op.drop_column("t", "a")
      op.alter_column("t", "b", { new_name = "c" })
      return op.query("SELECT name FROM pragma_table_info('t') ORDER BY cid")
    end)
    assert.same({ { name = "id" }, { name = "c" } }, cols)
  end)

  it("refuses comments and schemas", function()
    local ok, e = pcall(conn.run, conn, function(op)
      op.create_schema("app")
    end)
    assert.is_false(ok)
    assert.matches("SQLite has no schemas", e, 1, true)
  end)
end)
