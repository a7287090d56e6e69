-- render_spec.lua: lmigrate.render, the revision bodies autogenerate
-- writes. For every change kind: the op call in the rendered Lua, the SQL
-- op renders from it (lmigrate.core.render: the calls are real and
-- well-formed), and on a real SQLite file the whole stairway: upgrade gives
-- the declared schema, downgrade gives back the previous one.
local A = require("helpers.autogen_unit")
local render = require("lmigrate.render")
local core = require("lmigrate.core")
local h = require("helpers")

local S, sub, base, cases = A.S, A.sub, A.base, A.cases

-- A fresh SQLite file holding schema text `schema`, built by rendering
-- it from nothing and running the revision.
local function sqlite_db(dir, text)
  local db = dir .. "/t.db"
  os.remove(db)
  local ch = A.compare(A.declared("sqlite", S(text)), A.empty("sqlite"))
  A.apply(db, render.render(ch).revisions[1].upgrade)
  return db
end

describe("render #unit", function()
  for _, c in ipairs(cases) do
    local name, dialects, before, after, kinds, line, sql = table.unpack(c)
    for _, d in ipairs(dialects or { "sqlite", "postgresql" }) do
      describe(name .. " on " .. d, function()
        local chs = A.compare(A.declared(d, S(after)), A.declared(d, S(before)))
        local revs = render.render(chs, { safe = false }).revisions

        it("is detected and rendered as one revision with the op call", function()
          assert.same(kinds, A.kinds(chs))
          assert.equal(1, #revs)
          assert.is_true(revs[1].transactional)
          assert.truthy(revs[1].upgrade:find("    " .. line, 1, true), revs[1].upgrade)
        end)

        if sql[d] then
          it("renders upgrade and downgrade to the expected SQL", function()
            assert.equal(sql[d][1] .. "\n", A.sql(d, revs[1].upgrade))
            assert.equal(sql[d][2] .. "\n", A.sql(d, revs[1].downgrade))
          end)
        end

        if d == "sqlite" then
          it("upgrades a real database to the declared schema, and downgrades back", function()
            local dir = h.tmpdir()
            local db = sqlite_db(dir, before)
            local was = A.reflect_sqlite(db)
            assert.same({}, A.kinds(A.compare(A.declared(d, S(before)), was)))
            assert.same(kinds, A.kinds(A.compare(A.declared(d, S(after)), was)))
            A.apply(db, revs[1].upgrade)
            assert.same({}, A.kinds(A.compare(A.declared(d, S(after)), A.reflect_sqlite(db))))
            A.apply(db, revs[1].downgrade)
            assert.same({}, A.kinds(A.compare(was, A.reflect_sqlite(db))))
            h.rmdir(dir)
          end)
        end
      end)
    end
  end

  it("writes the body as valid Lua indented four spaces, SQL identifiers readable", function()
    local chs = A.compare(A.declared("postgresql", S(base .. 's.create_check_constraint("ck", "orders", "qty > 0")\n')),
      A.declared("postgresql", S(base)))
    local up = render.render(chs).revisions[1].upgrade
    for l in up:gmatch("[^\n]+") do assert.matches("^    ", l) end
    assert.truthy(up:find([[op.execute('ALTER TABLE "orders" ADD CONSTRAINT "ck" CHECK (qty > 0) NOT VALID')]], 1, true), up)
    assert.truthy(A.fn(up))
  end)

  it("renders an expression index with { expr = ... } entries", function()
    local chs = A.compare(A.declared("postgresql", S(base .. 's.create_index("ix_e", "customers", { { expr = "lower(email)" } })\n')),
      A.declared("postgresql", S(base)), { existing = {} })
    local up = render.render(chs).revisions[1].upgrade
    assert.equal('    op.create_index("ix_e", "customers", { { expr = "lower(email)" } })\n', up)
    local ok = pcall(core.render, "postgresql", function(op) op.create_index("x", "t", { { expr = "lower(a)" } }) end)
    if ok then
      assert.equal('CREATE INDEX "ix_e" ON "customers" ((lower(email)));\n', A.sql("postgresql", up))
    end
  end)

  it("renders nothing for no changes", function()
    local r = render.render(A.compare(A.declared("sqlite", S(base)), A.declared("sqlite", S(base))))
    assert.same({ { upgrade = "", downgrade = "", transactional = true, comments = {} } }, r.revisions)
  end)

  it("renders a note as a comment only", function()
    local d = A.declared("postgresql", S(sub(base, '{ "name", "text" }', '{ "name", "text", server_default = "upper(\'x\')" }')))
    local r = A.declared("postgresql", S(sub(base, '{ "name", "text" }', '{ "name", "text", server_default = "lower(\'x\')" }')))
    local rev = render.render(A.compare(d, r)).revisions[1]
    assert.matches("^    %-%- lmigrate autogenerate: cannot compare the server default of\n    %-%- 'customers.name'", rev.upgrade)
    assert.equal("", A.sql("postgresql", rev.upgrade))
    assert.equal("", rev.downgrade)
  end)

  it("says in the generated code that a rename was inferred", function()
    local chs = A.compare(A.declared("sqlite", S(sub(base, '{ "name", "text" }', '{ "full_name", "text" }'))),
      A.declared("sqlite", S(base)))
    local up = render.render(chs).revisions[1].upgrade
    assert.truthy(up:find("    -- Inferred rename: column 'customers.name' was dropped and 'full_name'\n", 1, true), up)
    assert.truthy(up:find("--no-renames", 1, true))
  end)

  describe("safe forms on PostgreSQL (tables that already exist)", function()
    local function safe(after, opts)
      local chs = A.compare(A.declared("postgresql", S(after)), A.declared("postgresql", S(base)), opts)
      return render.render(chs).revisions, chs
    end

    it("adds a NOT NULL column without default in three steps, with a backfill that fails until filled in", function()
      local revs = safe(sub(base, '{ "name", "text" }', '{ "name", "text" }, { "note", "text", nullable = false }'))
      assert.equal(2, #revs)
      assert.equal('ALTER TABLE "customers" ADD COLUMN "note" TEXT;\n', A.sql("postgresql", revs[1].upgrade))
      assert.matches("%-%- Safe form %(PostgreSQL%): 'customers.note' is NOT NULL without a default", revs[1].upgrade)
      assert.equal('ALTER TABLE "customers" DROP COLUMN "note";\n', A.sql("postgresql", revs[1].downgrade))
      -- the data phase: a placeholder that refuses to run until edited
      assert.truthy(revs[1].data:find('op.backfill{ table = "customers", key = "id", set = \'"note" = NULL\', where = \'"note" IS NULL\' }', 1, true), revs[1].data)
      local ok, e = pcall(A.fn(revs[1].data), {})
      assert.is_false(ok)
      assert.matches("fill in the backfill of customers.note", e)
      assert.is_true(revs[2].transactional)
      assert.equal('ALTER TABLE "customers" ALTER COLUMN "note" SET NOT NULL;\n', A.sql("postgresql", revs[2].upgrade))
      assert.equal('ALTER TABLE "customers" ALTER COLUMN "note" DROP NOT NULL;\n', A.sql("postgresql", revs[2].downgrade))
    end)

    it("keeps the plain form for a new table, a column with a default, SQLite, or safe = false", function()
      local after = sub(base, '{ "name", "text" }', '{ "name", "text" }, { "note", "text", nullable = false, server_default = "\'\'" }')
      assert.equal(1, #safe(after))
      local revs = safe(base .. 's.create_table("t", { "id", "integer" }, { "x", "text", nullable = false })\ns.create_index("ix_t", "t", "x")\n')
      assert.equal(1, #revs)
      after = sub(base, '{ "name", "text" }', '{ "name", "text" }, { "note", "text", nullable = false }')
      assert.equal(1, #render.render(A.compare(A.declared("postgresql", S(after)), A.declared("postgresql", S(base))), { safe = false }).revisions)
      assert.equal(1, #render.render(A.compare(A.declared("sqlite", S(after)), A.declared("sqlite", S(base)))).revisions)
    end)

    it("builds an index on an existing table CONCURRENTLY in its own non-transactional revision", function()
      local revs = safe(base .. 's.create_index("ix_c", "orders", "customer_id", { where = "qty > 0" })\n')
      assert.equal(2, #revs)
      assert.equal("", revs[1].upgrade)
      assert.is_false(revs[2].transactional)
      assert.matches("built CONCURRENTLY, without blocking writes", revs[2].upgrade)
      assert.equal('CREATE INDEX CONCURRENTLY "ix_c" ON "orders" ("customer_id") WHERE qty > 0;\n',
        A.sql("postgresql", revs[2].upgrade, false))
      assert.equal('DROP INDEX CONCURRENTLY "ix_c";\n', A.sql("postgresql", revs[2].downgrade, false))
    end)

    it("adds a foreign key or check NOT VALID and validates it in the next revision", function()
      local revs = safe(base .. 's.create_foreign_key("fk_oc", "orders", "customers", "customer_id", "id", { on_delete = "SET NULL" })\n' ..
        's.create_check_constraint("ck_qty", "orders", "qty > 0")\n')
      assert.equal(2, #revs)
      assert.equal('ALTER TABLE "orders" ADD CONSTRAINT "fk_oc" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON DELETE SET NULL NOT VALID;\n' ..
                   'ALTER TABLE "orders" ADD CONSTRAINT "ck_qty" CHECK (qty > 0) NOT VALID;\n', A.sql("postgresql", revs[1].upgrade))
      assert.matches("the foreign key is added NOT VALID, which checks\n    %-%- new rows only", revs[1].upgrade)
      assert.equal('ALTER TABLE "orders" DROP CONSTRAINT "ck_qty";\nALTER TABLE "orders" DROP CONSTRAINT "fk_oc";\n',
        A.sql("postgresql", revs[1].downgrade))
      assert.equal('ALTER TABLE "orders" VALIDATE CONSTRAINT "fk_oc";\nALTER TABLE "orders" VALIDATE CONSTRAINT "ck_qty";\n',
        A.sql("postgresql", revs[2].upgrade))
      assert.equal("", A.sql("postgresql", revs[2].downgrade))
    end)
  end)
end)
