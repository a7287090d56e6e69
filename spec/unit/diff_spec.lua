-- diff_spec.lua: lmigrate.diff: every change kind the diff detects, in the
-- order a revision applies them, the normalisation that keeps equal
-- schemas equal (reflected PostgreSQL spellings against declared ones),
-- rename inference, "cannot compare" notes, and the include filter.
local A = require("helpers.autogen_unit")
local diff = require("lmigrate.diff")

local function S(body) return "local s = ...\n" .. body end

-- The changes from schema text `before` (as if reflected) to `after`.
-- (opts is ignored unless a table: a trailing s:gsub() passes its count)
local function changes(d, before, after, opts)
  if type(opts) ~= "table" then opts = nil end
  local r = before and A.declared(d, S(before)) or A.empty(d)
  return A.compare(A.declared(d, S(after)), r, opts)
end

local function summaries(chs)
  return diff.describe(chs)
end

describe("diff #unit", function()
  local base = [[
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(255)", nullable = false },
  { "name", "text" })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer" },
  { "qty", "integer", server_default = "1" })
]]

  it("finds nothing between a schema and itself, on both dialects", function()
    for _, d in ipairs({ "sqlite", "postgresql" }) do
      assert.same({}, A.kinds(changes(d, base, base)))
    end
  end)

  it("detects added and removed tables (referenced tables created first, dropped last)", function()
    local chs = changes("sqlite", nil, base .. [[
s.create_table("a_items", { "id", "integer", primary_key = true },
  { "order_id", "bigint", references = "orders.id" })
]])
    assert.same({ "add_table", "add_table", "add_table" }, A.kinds(chs))
    -- name order, except that orders comes before a_items, which references it
    local order = {}
    for _, ch in ipairs(chs) do order[#order + 1] = ch.table end
    assert.same({ "orders", "a_items", "customers" }, order)
    assert.same({ "Detected added table 'orders'", "Detected added table 'a_items'",
                  "Detected added table 'customers'" }, summaries(chs))
    local drops = A.compare(A.empty("sqlite"), A.declared("sqlite", S(base .. [[
s.create_table("a_items", { "id", "integer", primary_key = true },
  { "order_id", "bigint", references = "orders.id" })
]])))
    order = {}
    for _, ch in ipairs(drops) do order[#order + 1] = ch.kind .. " " .. ch.table end
    assert.same({ "drop_table customers", "drop_table a_items", "drop_table orders" }, order)
  end)

  it("detects added and removed columns", function()
    local chs = changes("sqlite", base, base:gsub('{ "name", "text" }', '{ "phone", "string(20)" }'), { renames = false })
    assert.same({ "add_column", "drop_column" }, A.kinds(chs))
    assert.same({ "Detected added column 'customers.phone'", "Detected removed column 'customers.name'" }, summaries(chs))
    assert.equal("string(20)", chs[1].col.type)
  end)

  it("detects type changes, compared as normalized types", function()
    local chs = changes("postgresql", base, base:gsub('"string%(255%)"', '"string(300)"'))
    assert.same({ "alter_column" }, A.kinds(chs))
    assert.same({ from = "string(255)", to = "string(300)" }, chs[1].type)
    assert.same({ "Detected type change from character varying(255) to character varying(300) on column 'customers.email'" },
      summaries(chs))
    -- the same type spelled differently is no change
    assert.same({}, A.kinds(changes("postgresql", base, base:gsub('"string%(255%)"', '"varchar(255)"'))))
    assert.same({}, A.kinds(changes("postgresql", base, base:gsub('"bigint"', '"int8"'))))
    assert.same({}, A.kinds(changes("sqlite", base, base:gsub('"string%(255%)"', '"VARCHAR(255)"'))))
  end)

  it("detects nullability changes", function()
    local chs = changes("sqlite", base, base:gsub('"string%(255%)", nullable = false', '"string(255)"'))
    assert.same({ "alter_column" }, A.kinds(chs))
    assert.same({ from = false, to = true }, chs[1].nullable)
    assert.same({ "Detected NULL on column 'customers.email'" }, summaries(chs))
  end)

  it("detects server default changes, added and removed", function()
    local chs = changes("postgresql", base, base:gsub('server_default = "1"', 'server_default = "2"'))
    assert.same({ from = "1", to = "2" }, chs[1].server_default)
    assert.same({ "Detected server default 1 -> 2 on column 'orders.qty'" }, summaries(chs))
    chs = changes("postgresql", base, base:gsub(', server_default = "1"', ""))
    assert.same({ from = "1" }, chs[1].server_default)
    chs = changes("sqlite", base, base:gsub('{ "name", "text" }', '{ "name", "text", default = "x" }'))
    assert.same({ to = "'x'" }, chs[1].server_default)
    -- an expression default added or removed is a change, not a "cannot compare"
    chs = changes("postgresql", base:gsub('{ "name", "text" }', '{ "name", "text", server_default = "md5(random()::text)" }'), base)
    assert.same({ "alter_column" }, A.kinds(chs))
    assert.same({ from = "md5(random()::text)" }, chs[1].server_default)
  end)

  it("detects primary key changes", function()
    local after = base:gsub('{ "id", "bigint", primary_key = true }', '{ "id", "bigint", primary_key = true }, { "line", "integer", primary_key = true }')
    local chs = changes("postgresql", base:gsub('{ "customer_id"', '{ "line", "integer", nullable = false }, { "customer_id"'), after)
    assert.same({ "drop_pk", "add_pk" }, A.kinds(chs))
    assert.same({ "id", "line" }, A.find(chs, "add_pk").pk.columns)
    assert.same({ "Detected removed primary key (id) on 'orders'", "Detected added primary key (id, line) on 'orders'" },
      summaries(chs))
  end)

  it("detects unique constraints by content, not by name", function()
    local chs = changes("sqlite", base, base .. 's.create_unique_constraint("uq_c", "orders", { "customer_id", "qty" })\n')
    assert.same({ "add_unique" }, A.kinds(chs))
    assert.same({ "Detected added unique constraint uq_c (customer_id, qty) on 'orders'" }, summaries(chs))
    chs = changes("sqlite", base .. 's.create_unique_constraint("uq_c", "orders", { "customer_id", "qty" })\n', base)
    assert.same({ "drop_unique" }, A.kinds(chs))
    -- the unnamed `unique = true` matches a named constraint on the same column
    assert.same({}, A.kinds(changes("postgresql",
      base .. 's.create_unique_constraint("customers_email_key", "customers", "email")\n',
      base:gsub('nullable = false }', 'nullable = false, unique = true }', 1))))
  end)

  it("detects indexes: added, removed, unique, partial and expression", function()
    local ix = base .. 's.create_index("ix_o", "orders", { "customer_id" })\n'
    assert.same({ "add_index" }, A.kinds(changes("sqlite", base, ix)))
    assert.same({ "drop_index" }, A.kinds(changes("sqlite", ix, base)))
    local uq = base .. 's.create_index("ix_o", "orders", { "customer_id" }, { unique = true })\n'
    local chs = changes("postgresql", ix, uq)
    assert.same({ "drop_index", "add_index" }, A.kinds(chs))
    assert.is_true(A.find(chs, "add_index").index.unique)
    local partial = base .. 's.create_index("ix_o", "orders", { "customer_id" }, { where = "qty > 0" })\n'
    assert.same({ "drop_index", "add_index" }, A.kinds(changes("postgresql", ix, partial)))
    assert.same({ "drop_index", "add_index" }, A.kinds(changes("sqlite", partial,
      partial:gsub("qty > 0", "qty > 1"))))
    local expr = base .. 's.create_index("ix_e", "customers", { { expr = "lower(email)" } })\n'
    chs = changes("postgresql", base, expr)
    assert.same({ "add_index" }, A.kinds(chs))
    assert.same({ "Detected added index 'ix_e' on 'customers'(lower(email))" }, summaries(chs))
    assert.same({ "drop_index", "add_index" }, A.kinds(changes("sqlite", expr, expr:gsub("lower", "upper"))))
  end)

  it("detects foreign keys with their ON DELETE / ON UPDATE", function()
    local fk = base .. 's.create_foreign_key("fk_o_c", "orders", "customers", "customer_id", "id", { on_delete = "CASCADE" })\n'
    local chs = changes("postgresql", base, fk)
    assert.same({ "add_fk" }, A.kinds(chs))
    assert.equal("CASCADE", chs[1].fk.on_delete)
    assert.same({ "Detected added foreign key (customer_id) -> customers(id) on 'orders'" }, summaries(chs))
    assert.same({ "drop_fk" }, A.kinds(changes("postgresql", fk, base)))
    -- a changed action is the old key dropped and the new one added
    chs = changes("postgresql", fk, fk:gsub("CASCADE", "SET NULL"))
    assert.same({ "drop_fk", "add_fk" }, A.kinds(chs))
    -- NO ACTION is the default: the same as nothing
    assert.same({}, A.kinds(changes("postgresql", fk:gsub('{ on_delete = "CASCADE" }', "nil"),
      fk:gsub("CASCADE", "NO ACTION"))))
  end)

  it("detects check constraints, by name when both are named, else by text", function()
    local ck = base .. 's.create_check_constraint("ck_qty", "orders", "qty > 0")\n'
    assert.same({ "add_check" }, A.kinds(changes("sqlite", base, ck)))
    assert.same({ "drop_check" }, A.kinds(changes("sqlite", ck, base)))
    assert.same({ "drop_check", "add_check" }, A.kinds(changes("sqlite", ck, ck:gsub("qty > 0", "qty > 1"))))
    -- an unnamed reflected check (SQLite) with the same text is the same check
    local r = A.declared("sqlite", S(base))
    r.tables.orders.checks = { { sql = "(qty > 0)" } }
    assert.same({}, A.kinds(A.compare(A.declared("sqlite", S(ck)), r)))
  end)

  it("detects table and column comments on PostgreSQL", function()
    local cm = base .. 's.create_table_comment("orders", "all orders")\ns.alter_column("orders", "qty", { comment = "how many" })\n'
    local chs = changes("postgresql", base, cm)
    assert.same({ "alter_column", "table_comment" }, A.kinds(chs))
    assert.same({ to = "how many" }, chs[1].comment)
    assert.same({ "Detected comment on column 'orders.qty'", "Detected added table comment on 'orders'" }, summaries(chs))
    chs = changes("postgresql", cm, base)
    assert.same({ "Detected comment removed on column 'orders.qty'", "Detected removed table comment on 'orders'" },
      summaries(chs))
  end)

  it("detects PostgreSQL schemas, created before their tables and dropped after", function()
    local chs = changes("postgresql", base, base .. 's.create_schema("billing")\ns.create_table("billing.inv", { "id", "integer" })\n')
    assert.same({ "add_schema", "add_table" }, A.kinds(chs))
    assert.equal("billing.inv", chs[2].table)
    chs = changes("postgresql", base .. 's.create_schema("billing")\ns.create_table("billing.inv", { "id", "integer" })\n', base)
    assert.same({ "drop_table", "drop_schema" }, A.kinds(chs))
    assert.same({ "Detected removed table 'billing.inv'", "Detected removed schema 'billing'" }, summaries(chs))
  end)

  it("orders changes for application: drops of indexes and constraints before columns change", function()
    local before = base .. 's.create_index("ix_q", "orders", "qty")\ns.create_check_constraint("ck", "orders", "qty > 0")\n'
    local after = base:gsub(', server_default = "1"', ', nullable = false') ..
      's.create_index("ix_c", "orders", "customer_id")\ns.create_table("z", { "id", "integer" })\n'
    assert.same({ "add_table", "drop_index", "drop_check", "alter_column", "add_index" }, A.kinds(changes("sqlite", before, after)))
  end)

  describe("normalisation against reflected PostgreSQL spellings", function()
    -- what reflection returns for the declared `base` (format_type, pg_get_expr)
    local function reflected()
      return {
        dialect = "postgresql", default_schema = "public", schemas = {},
        tables = {
          customers = { name = "customers", columns = {
              { name = "id", type = "integer", nullable = false, autoincrement = true },
              { name = "email", type = "character varying(255)", nullable = false },
              { name = "name", type = "text", nullable = true } },
            primary_key = { name = "customers_pkey", columns = { "id" } },
            uniques = {}, indexes = {}, foreign_keys = {}, checks = {} },
          orders = { name = "orders", columns = {
              { name = "id", type = "bigint", nullable = false },
              { name = "customer_id", type = "integer", nullable = true },
              { name = "qty", type = "integer", nullable = true, server_default = "1" } },
            primary_key = { name = "orders_pkey", columns = { "id" } },
            uniques = {}, indexes = {}, foreign_keys = {}, checks = {} },
        },
      }
    end

    it("compares equal to the declared schema", function()
      assert.same({}, A.kinds(A.compare(A.declared("postgresql", S(base)), reflected())))
    end)

    it("treats a serial column (integer + nextval default) as autoincrement", function()
      local r = reflected()
      r.tables.customers.columns[1].autoincrement = false
      r.tables.customers.columns[1].server_default = "nextval('customers_id_seq'::regclass)"
      assert.same({}, A.kinds(A.compare(A.declared("postgresql", S(base)), r)))
    end)

    it("strips casts and folds now() and CURRENT_TIMESTAMP", function()
      local d = A.declared("postgresql", S(base:gsub('{ "name", "text" }',
        '{ "name", "text", server_default = "\'x\'" }, { "at", "timestamptz", server_default = "CURRENT_TIMESTAMP" }, ' ..
        '{ "n", "numeric(10,2)", server_default = "-1.5" }')))
      local r = reflected()
      local cols = r.tables.customers.columns
      cols[3].server_default = "'x'::text"
      cols[4] = { name = "at", type = "timestamp with time zone", nullable = true, server_default = "now()" }
      cols[5] = { name = "n", type = "numeric(10,2)", nullable = true, server_default = "'-1.5'::numeric" }
      assert.same({}, A.kinds(A.compare(d, r)))
    end)

    it("matches reflected index expressions, predicates and checks despite PostgreSQL's rewriting", function()
      local d = A.declared("postgresql", S(base .. [[
s.create_index("ix_e", "customers", { { expr = "lower(email)" } }, { where = "name IS NOT NULL" })
s.create_check_constraint("ck_qty", "orders", "qty > 0")
]]))
      local r = reflected()
      r.tables.customers.indexes = { { name = "ix_e", columns = { { expr = "lower((email)::text)" } }, unique = false,
                                       where = "(name IS NOT NULL)" } }
      r.tables.orders.checks = { { name = "ck_qty", sql = "(qty > 0)" } }
      assert.same({}, A.kinds(A.compare(d, r)))
    end)

    it("reports a default it cannot compare instead of flapping", function()
      local d = A.declared("postgresql", S(base:gsub('{ "name", "text" }', '{ "name", "text", server_default = "upper(\'x\')" }')))
      local r = reflected()
      r.tables.customers.columns[3].server_default = "upper('y'::text)"
      local chs = A.compare(d, r)
      assert.same({ "uncomparable_default" }, A.kinds(chs))
      assert.is_true(chs[1].info)
      assert.is_false(diff.has_differences(chs))
      assert.same({ "Note: cannot compare the server default of 'customers.name': declared upper('x'), " ..
                    "database has upper('y'::text); change it by hand if they differ" }, summaries(chs))
      -- the same expression spelled with casts compares equal
      r.tables.customers.columns[3].server_default = "upper('x'::text)"
      assert.same({}, A.kinds(A.compare(d, r)))
    end)

    it("reports a named check whose text PostgreSQL rewrote as a note, not a change", function()
      local d = A.declared("postgresql", S(base .. 's.create_check_constraint("ck_s", "customers", "name IN (\'a\', \'b\')")\n'))
      local r = reflected()
      r.tables.customers.checks = { { name = "ck_s", sql = "(name = ANY (ARRAY['a'::text, 'b'::text]))" } }
      local chs = A.compare(d, r)
      assert.same({ "uncomparable_check" }, A.kinds(chs))
      assert.is_false(diff.has_differences(chs))
    end)
  end)

  describe("renames", function()
    it("infers a column rename: one dropped and one added column of the same type", function()
      local chs = changes("postgresql", base, base:gsub('{ "name", "text" }', '{ "full_name", "text" }'))
      assert.same({ "rename_column" }, A.kinds(chs))
      assert.same({ table = "customers", column = "name", new_name = "full_name" },
        { table = chs[1].table, column = chs[1].column, new_name = chs[1].new_name })
      assert.same({ "Detected possible rename of column 'customers.name' to 'full_name' (same type text; " ..
                    "--no-renames for drop + add)" }, summaries(chs))
    end)

    it("renders drop + add with renames = false, or when the type differs or is ambiguous", function()
      local after = base:gsub('{ "name", "text" }', '{ "full_name", "text" }')
      assert.same({ "add_column", "drop_column" }, A.kinds(changes("postgresql", base, after, { renames = false })))
      assert.same({ "add_column", "drop_column" }, A.kinds(changes("postgresql", base,
        base:gsub('{ "name", "text" }', '{ "full_name", "string(10)" }'))))
      assert.same({ "add_column", "add_column", "drop_column" }, A.kinds(changes("postgresql", base,
        base:gsub('{ "name", "text" }', '{ "a", "text" }, { "b", "text" }'))))
    end)

    it("keeps the other differences of a renamed column", function()
      local chs = changes("sqlite", base, base:gsub('{ "name", "text" }', '{ "full_name", "text", nullable = false }'))
      assert.same({ "rename_column", "alter_column" }, A.kinds(chs))
      assert.equal("full_name", chs[2].column)
    end)

    it("infers a table rename: one dropped and one added table with the same columns", function()
      local chs = changes("postgresql", base, base:gsub('"orders"', '"purchases"'))
      assert.same({ "rename_table" }, A.kinds(chs))
      assert.same({ "Detected possible rename of table 'orders' to 'purchases' (same columns; --no-renames for drop + add)" },
        summaries(chs))
      assert.same({ "add_table", "drop_table" }, A.kinds(changes("postgresql", base, base:gsub('"orders"', '"purchases"'),
        { renames = false })))
    end)

    it("compares the rest of a renamed table", function()
      local chs = changes("sqlite", base, base:gsub('"orders"', '"purchases"') ..
        's.create_index("ix_p", "purchases", "qty")\n')
      assert.same({ "rename_table", "add_index" }, A.kinds(chs))
      assert.equal("purchases", chs[2].table)
    end)
  end)

  it("skips what the include hook rejects", function()
    local after = base .. 's.create_table("audit_log", { "id", "integer" })\ns.create_index("ix_c", "orders", "customer_id")\n'
    local seen = {}
    local chs = changes("sqlite", base:gsub('{ "name", "text" }', '{ "name", "text" }, { "tmp", "text" }'), after, {
      include = function(kind, name, parent)
        seen[#seen + 1] = kind .. ":" .. tostring(name) .. ":" .. tostring(parent)
        return not (name == "audit_log" or name == "tmp" or name == "ix_c")
      end })
    assert.same({}, A.kinds(chs))
    local function has(x) for _, v in ipairs(seen) do if v == x then return true end end return false end
    assert.is_true(has("table:audit_log:nil"))
    assert.is_true(has("column:tmp:customers"))
    assert.is_true(has("index:ix_c:orders"))
  end)

  it("marks changes on tables that exist in the database (for the safe forms)", function()
    local chs = changes("postgresql", base, base .. 's.create_index("ix_c", "orders", "customer_id")\n' ..
      's.create_table("t", { "id", "integer" })\ns.create_index("ix_t", "t", "id")\n')
    assert.is_true(A.find(chs, "add_index").existing)
    chs = A.compare(A.declared("postgresql", S(base .. 's.create_index("ix_c", "orders", "customer_id")\n')),
      A.declared("postgresql", S(base)), { existing = {} })
    assert.is_false(chs[1].existing)
  end)
end)
