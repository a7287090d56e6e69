-- spec/integration/autogen_cycle_spec.lua: `revision --autogenerate` ->
-- `upgrade` -> `check` on both backends, for a schema change that
-- exercises every item of the diff list (tables, columns, types,
-- nullability, server defaults, primary keys, unique constraints, unique /
-- partial / expression indexes, foreign keys with ON DELETE/UPDATE, checks,
-- and on PostgreSQL comments and schemas); downgrading the generated
-- revision(s) must give back the earlier schema exactly (the C
-- reflection, compared field by field).

local h = require "helpers"
local A = require "helpers.autogen"

local V1 = [[
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(100)", nullable = false },
  { "name", "text" },
  { "legacy_flag", "boolean" })
s.create_table("old_audit",
  { "id", "integer", primary_key = true },
  { "what", "text" })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer", nullable = false },
  { "status", "string(20)", server_default = "'new'" })
]]

-- Every item of the diff list, relative to V1.
local function v2(pg)
  return [[
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(255)", nullable = false, unique = true },
  { "name", "text", nullable = false, server_default = "''" },
  { "created_at", "timestamptz", server_default = "CURRENT_TIMESTAMP" })
s.create_index("ix_customers_lower_email", "customers", { { expr = "lower(email)" } }, { unique = true })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer", nullable = false },
  { "status", "string(20)", server_default = "'open'" },
  { "total", "numeric(10,2)", nullable = false, server_default = "0" })
s.create_foreign_key("fk_orders_customer", "orders", "customers", { "customer_id" }, { "id" },
  { on_delete = "CASCADE", on_update = "SET NULL" })
s.create_check_constraint("ck_orders_total", "orders", "total >= 0")
s.create_index("ix_orders_open", "orders", { "customer_id", "status" }, { where = "status = 'open'" })
s.create_table("tags",
  { "order_id", "bigint", nullable = false },
  { "tag", "string(30)", nullable = false })
s.create_primary_key("pk_tags", "tags", { "order_id", "tag" })
s.create_unique_constraint("uq_tags_tag", "tags", { "tag", "order_id" })
]] .. (pg and [[
s.create_schema("billing")
s.create_table("billing.invoices",
  { "id", "integer", primary_key = true },
  { "order_id", "bigint", references = "orders.id", on_delete = "RESTRICT" })
s.create_table_comment("orders", "one row per order")
]] or "")
end

for _, backend in ipairs(h.each_backend()) do
  describe("autogenerate cycle on " .. backend .. " #integration #" .. backend, function()
    local pg = backend == "postgres"

    it("autogenerate -> upgrade -> check is clean, and downgrade -1 restores the schema", function()
      local dir, url = A.project(backend)
      A.schema(dir, V1)
      local r = A.run(dir, { "revision", "--autogenerate", "-m", "v1" })
      assert.equal(0, r.code, r.err)
      assert.matches("Detected added table 'customers'", r.out, 1, true)
      assert.equal(0, A.run(dir, { "upgrade", "head" }).code)
      local before = A.reflect(url)
      assert.equal(0, A.run(dir, { "check" }).code)

      A.schema(dir, v2(pg))
      r = A.run(dir, { "revision", "--autogenerate", "-m", "v2" })
      assert.equal(0, r.code, r.err)
      for _, want in ipairs({ "added table 'tags'", "removed table 'old_audit'",
                              "added column 'customers.created_at'",
                              "removed column 'customers.legacy_flag'",
                              "customers.email", "customers.name", "orders.status",
                              "ix_customers_lower_email", "ix_orders_open",
                              "added foreign key (customer_id)", "ck_orders_total" }) do
        assert.matches(want, r.out, 1, true)
      end
      if pg then
        assert.matches("added schema 'billing'", r.out, 1, true)
        assert.matches("billing.invoices", r.out, 1, true)
      end
      local up = A.run(dir, { "upgrade", "head" })
      assert.equal(0, up.code, up.err)
      local c = A.run(dir, { "check" })
      assert.equal(0, c.code, c.out .. c.err)
      assert.equal("No differences: the database matches schema.lua\n", c.out)

      -- the reflection shows every declared object
      local m = A.reflect(url)
      assert.is_nil(m.tables.old_audit)
      assert.same({ "order_id", "tag" }, m.tables.tags.primary_key.columns)
      local ix = {}
      for _, i in ipairs(m.tables.orders.indexes) do ix[i.name] = i end
      assert.truthy(ix.ix_orders_open.where)
      local fk = m.tables.orders.foreign_keys[1]
      assert.equal("CASCADE", fk.on_delete)
      assert.equal("SET NULL", fk.on_update)
      if pg then
        assert.equal("one row per order", m.tables.orders.comment)
        assert.same({ "billing" }, m.schemas)
      end

      -- one revision per step: on PostgreSQL the safe forms add a second
      -- (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT)
      local n = #A.revisions(dir) - 1
      local d = A.run(dir, { "downgrade", "-" .. n })
      assert.equal(0, d.code, d.err)
      assert.same(before, A.reflect(url))
    end)

    it("writes nothing when nothing changed, and an empty revision with --allow-empty", function()
      local dir = A.project(backend)
      A.schema(dir, V1)
      assert.equal(0, A.run(dir, { "revision", "--autogenerate", "-m", "v1" }).code)
      assert.equal(0, A.run(dir, { "upgrade", "head" }).code)
      local r = A.run(dir, { "revision", "--autogenerate", "-m", "again" })
      assert.equal(0, r.code)
      assert.matches("No changes detected", r.out, 1, true)
      assert.equal(1, #A.revisions(dir))
      r = A.run(dir, { "revision", "--autogenerate", "--allow-empty", "-m", "again" })
      assert.equal(0, r.code, r.err)
      assert.equal(2, #A.revisions(dir))
      assert.equal(0, A.run(dir, { "upgrade", "head" }).code)
    end)

    it("infers a column rename, and drops + adds with --no-renames", function()
      local dir = A.project(backend)
      A.schema(dir, [[s.create_table("t", { "id", "integer", primary_key = true }, { "nick", "text" })]])
      assert.equal(0, A.run(dir, { "revision", "--autogenerate", "-m", "v1" }).code)
      assert.equal(0, A.run(dir, { "upgrade", "head" }).code)
      A.schema(dir, [[s.create_table("t", { "id", "integer", primary_key = true }, { "nickname", "text" })]])
      local r = A.run(dir, { "revision", "--autogenerate", "--no-renames", "-m", "plain" })
      assert.equal(0, r.code, r.err)
      assert.matches("added column 't.nickname'", r.out, 1, true)
      assert.matches("removed column 't.nick'", r.out, 1, true)
      assert.is_nil(r.out:find("possible rename", 1, true))
      for _, f in ipairs(A.revisions(dir)) do
        if f:match("_plain%.lua$") then os.remove(dir .. "/versions/" .. f) end
      end
      r = A.run(dir, { "revision", "--autogenerate", "-m", "rename" })
      assert.equal(0, r.code, r.err)
      assert.matches("possible rename", r.out, 1, true)
      local text
      for _, f in ipairs(A.revisions(dir)) do
        if f:match("_rename%.lua$") then text = h.read(dir .. "/versions/" .. f) end
      end
      assert.matches('new_name = "nickname"', text, 1, true)
      assert.equal(0, A.run(dir, { "upgrade", "head" }).code)
      assert.equal(0, A.run(dir, { "check" }).code)
    end)
  end)
end
