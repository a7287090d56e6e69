-- schema_builder_spec.lua: the declared-schema builder `s`
-- (lua/lmigrate/schema.lua): the model it builds from op-style calls, and
-- its errors, each "file:line: msg" at the schema line that is wrong.
local A = require("helpers.autogen_unit")
local schema = require("lmigrate.schema")
local h = require("helpers")

-- The error message of loading text as schema.lua on dialect d.
local function err(d, text)
  local ok, e = pcall(A.declared, d, text)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("schema builder #unit", function()
  it("builds the model of the issue's example", function()
    local m = A.declared("postgresql", [[
local s = ...
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(255)", nullable = false, unique = true },
  { "created_at", "timestamptz", server_default = "now()" })
s.create_index("ix_customers_email", "customers", { "email" })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer", references = "customers.id", on_delete = "cascade" })
s.create_check_constraint("ck_orders_id", "orders", "id > 0")
]])
    assert.equal("postgresql", m.dialect)
    assert.equal("public", m.default_schema)
    local c = m.tables.customers
    assert.same({ name = "id", type = "integer", nullable = false, autoincrement = true }, c.columns[1])
    assert.same({ name = "email", type = "string(255)", nullable = false, autoincrement = false }, c.columns[2])
    assert.equal("now()", c.columns[3].server_default)
    assert.is_true(c.columns[3].nullable)
    assert.same({ columns = { "id" } }, c.primary_key)
    assert.same({ { columns = { "email" } } }, c.uniques)
    assert.same({ { name = "ix_customers_email", columns = { "email" }, unique = false } }, c.indexes)
    local o = m.tables.orders
    assert.same({ { columns = { "customer_id" }, ref_table = "customers", ref_columns = { "id" },
                    on_delete = "CASCADE" } }, o.foreign_keys)
    assert.same({ { name = "ck_orders_id", sql = "id > 0" } }, o.checks)
  end)

  it("does not care about order: an index or constraint may come before its table", function()
    local m = A.declared("sqlite", [[
local s = ...
s.create_index("ix_t_a", "t", "a", { unique = true, where = "a > 0" })
s.create_unique_constraint("uq_t_ab", "t", { "a", "b" })
s.create_foreign_key("fk_t_u", "t", "u", "b", "id", { on_update = "set_null", on_delete = "NO ACTION" })
s.create_table("t", { "a", "integer" }, { "b", "integer" }, { if_not_exists = true })
s.create_table("u", { "id", "integer", primary_key = true })
]])
    local t = m.tables.t
    assert.same({ { name = "ix_t_a", columns = { "a" }, unique = true, where = "a > 0" } }, t.indexes)
    assert.same({ { name = "uq_t_ab", columns = { "a", "b" } } }, t.uniques)
    assert.same({ { name = "fk_t_u", columns = { "b" }, ref_table = "u", ref_columns = { "id" },
                    on_update = "SET NULL" } }, t.foreign_keys)
  end)

  it("turns `default = v` into the dialect's literal", function()
    local text = [[
local s = ...
s.create_table("t", { "a", "text", default = "it's" }, { "b", "boolean", default = false },
  { "c", "integer", default = 3 }, { "d", "float", default = 1.5 }, { "e", "text", default = s.null })
]]
    local lite, pg = A.declared("sqlite", text).tables.t.columns, A.declared("postgresql", text).tables.t.columns
    assert.equal("'it''s'", lite[1].server_default)
    assert.equal("0", lite[2].server_default)
    assert.equal("false", pg[2].server_default)
    assert.equal("3", pg[3].server_default)
    assert.equal("1.5", pg[4].server_default)
    assert.equal("NULL", pg[5].server_default)
  end)

  it("takes composite primary keys, create_primary_key, schemas and comments on PostgreSQL", function()
    local m = A.declared("postgresql", [[
local s = ...
s.create_schema("billing")
s.create_table("billing.invoices", { "id", "integer" }, { "n", "integer", primary_key = true },
  { "m", "integer", primary_key = true })
s.create_table("public.plain", { "id", "integer" })
s.create_primary_key("pk_plain", "plain", { "id" })
s.create_table_comment("billing.invoices", "all invoices")
s.alter_column("billing.invoices", "id", { comment = "the id" })
s.create_index("ix_expr", "billing.invoices", { { expr = "lower(n::text)" }, "m" })
]])
    assert.same({ "billing" }, m.schemas)
    local inv = m.tables["billing.invoices"]
    assert.equal("billing", inv.schema)
    assert.equal("invoices", inv.name)
    assert.same({ columns = { "n", "m" } }, inv.primary_key)
    assert.equal("all invoices", inv.comment)
    assert.equal("the id", inv.columns[1].comment)
    assert.same({ { expr = "lower(n::text)" }, "m" }, inv.indexes[1].columns)
    assert.same({ name = "pk_plain", columns = { "id" } }, m.tables.plain.primary_key)
    assert.is_false(m.tables.plain.columns[1].nullable)
    assert.is_nil(m.tables.plain.schema)
  end)

  it("runs s.include() files relative to the including file", function()
    local dir = h.tmpdir()
    h.write(dir .. "/schema.lua", 'local s = ...\ns.include("parts/billing.lua")\ns.create_table("a", { "id", "integer" })\n')
    os.execute("mkdir -p " .. h.quote(dir .. "/parts"))
    h.write(dir .. "/parts/billing.lua", 'local s = ...\ns.include("more.lua")\ns.create_table("b", { "id", "integer" })\n')
    h.write(dir .. "/parts/more.lua", 'local s = ...\ns.create_table("c", { "id", "integer", references = "a.id" })\n')
    local m = schema.load(dir .. "/schema.lua", "sqlite")
    assert.truthy(m.tables.a and m.tables.b and m.tables.c)
    h.write(dir .. "/parts/more.lua", 'local s = ...\ns.create_table("c", { "id", "integr", nulable = true })\n')
    local ok, e = pcall(schema.load, dir .. "/schema.lua", "sqlite")
    assert.is_false(ok)
    assert.equal(dir .. "/parts/more.lua:2: unknown option 'nulable' for create_table (did you mean 'nullable'?)", e)
    h.write(dir .. "/parts/more.lua", 'local s = ...\ns.include("nothere.lua")\n')
    ok, e = pcall(schema.load, dir .. "/schema.lua", "sqlite")
    assert.is_false(ok)
    assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/parts/more.lua:2: cannot read schema file .*nothere.lua", e)
    h.rmdir(dir)
  end)

  describe("errors name the schema file and line", function()
    local cases = {
      { "sqlite", 'local s = ...\ns.create_table("t",\n  { "a", "integer", nulable = false })\n',
        "schema.lua:2: unknown option 'nulable' for create_table (did you mean 'nullable'?)" },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" })\ns.create_index("ix", "t", "a", { uniq = true })\n',
        "schema.lua:3: unknown option 'uniq' for create_index (did you mean 'unique'?)" },
      { "postgresql", 'local s = ...\ns.create_table("t", { "a", "text(10)" })\n',
        'schema.lua:2: create_table: column "a": type "text(10)" takes no arguments (write "text")' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer", primary_key = true, nullable = true })\n',
        "schema.lua:2: bad argument #2 to 'create_table' (column \"a\": a primary key cannot be nullable)" },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "text", primary_key = true, autoincrement = true })\n',
        'schema.lua:2: create_table "t": column "a": autoincrement needs an integer type, not "text"' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "text", default = "x", server_default = "\'x\'" })\n',
        'schema.lua:2: create_table "t": column "a": give default or server_default, not both' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" })\n\ns.create_index("ix", "tt", "a")\n',
        'schema.lua:4: create_index: table "tt" is not declared in the schema (did you mean "t"?)' },
      { "sqlite", 'local s = ...\ns.create_index("ix", "t", "emial")\ns.create_table("t", { "email", "text" })\n',
        'schema.lua:2: create_index: table "t" has no column "emial" (did you mean "email"?)' },
      { "sqlite", 'local s = ...\ns.create_table("t",\n  { "a", "integer", references = "u.id" })\n',
        'schema.lua:2: foreign key on "t" references table "u", which is not declared in the schema' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" })\ns.create_table("t", { "b", "integer" })\n',
        'schema.lua:3: create_table "t": table is already declared at schema.lua:2' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" })\ns.create_table_comment("t", "x")\n',
        'schema.lua:3: create_table_comment: SQLite stores no comments (guard with `if s.dialect == "postgresql"`)' },
      { "sqlite", 'local s = ...\ns.create_schema("billing")\n',
        "schema.lua:2: create_schema: SQLite has no schemas (an ATTACHed database file is the nearest thing)" },
      { "postgresql", 'local s = ...\ns.create_table("t", { "a", "integer" })\ns.alter_column("t", "a", { nullable = false })\n',
        "schema.lua:3: alter_column: option 'nullable' has no place in a schema file, which declares the end state: " ..
        "write it in the column spec of create_table; only `comment` is declared with alter_column" },
      { "postgresql", 'local s = ...\ns.create_table("billing.t", { "a", "integer" })\n',
        'schema.lua:2: create_table "billing.t": schema "billing" is not declared; add s.create_schema("billing")' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer", references = "t.a", on_delete = "EXPLODE" })\n',
        'schema.lua:2: create_table: on_delete = "EXPLODE" is not one of CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" })\ns.create_foreign_key("fk", "t", "t", { "a" }, { "a", "a" })\n',
        'schema.lua:3: create_foreign_key "fk": 1 local column but 2 referenced columns' },
      { "sqlite", 'local s = ...\ns.create_table("t")\n',
        'schema.lua:2: create_table "t": a table needs at least one column spec' },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a" })\n',
        "schema.lua:2: bad argument #2 to 'create_table' (column \"a\" needs a type as its second value, e.g. { \"a\", \"text\" })" },
      { "sqlite", 'local s = ...\ns.drop_table("t")\n',
        "schema.lua:2: s.drop_table does not exist: a schema file declares the end state with s.alter_column, " ..
        "s.create_check_constraint, s.create_foreign_key, s.create_index, s.create_primary_key, s.create_schema, " ..
        "s.create_table, s.create_table_comment, s.create_unique_constraint, s.include" },
      { "sqlite", 'local s = ...\ns.create_tabel("t", { "a", "integer" })\n',
        "schema.lua:2: s.create_tabel does not exist (did you mean s.create_table?)" },
      { "sqlite", 'local s = ...\ns:create_table("t", { "a", "integer" })\n',
        "schema.lua:2: call s.create_table(...) with a dot, not s:create_table(...)" },
      { "sqlite", 'local s = ...\ns.create_table("t", { "a", "integer" }\n',
        "schema.lua:3: ')' expected (to close '(' at line 2) near <eof>" },
    }
    for i, c in ipairs(cases) do
      it(("case %d: %s"):format(i, c[3]:match(": (.*)$"):sub(1, 60)), function()
        assert.equal(c[3], err(c[1], c[2]))
      end)
    end
  end)
end)
