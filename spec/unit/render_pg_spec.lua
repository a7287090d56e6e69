-- render_pg_spec.lua: the revisions autogenerate renders, run on a real
-- PostgreSQL (LMIGRATE_TEST_PG_URL, set by spec/support/with-pg.sh), for
-- every change kind: the database starts at the "before" schema, the
-- revisions (safe forms included: a second, non-transactional revision)
-- bring it to the declared schema with nothing left to detect, and their
-- downgrades, newest first, restore the "before" schema exactly. Also
-- checks that what PostgreSQL reports (format_type, pg_get_expr,
-- pg_get_constraintdef) compares equal to the declared spellings.
local A = require("helpers.autogen_unit")
local render = require("lmigrate.render")
local diff = require("lmigrate.diff")

local url = os.getenv("LMIGRATE_TEST_PG_URL")
local S, sub, base = A.S, A.sub, A.base

-- Apply each revision of revs (upgrade; data when given), in order.
local function upgrade(revs, data)
  for i, rev in ipairs(revs) do
    A.apply_pg(url, rev.upgrade, rev.transactional)
    if rev.data then A.apply_pg(url, data and data[i] or rev.data, false) end
  end
end

local function downgrade(revs)
  for i = #revs, 1, -1 do A.apply_pg(url, revs[i].downgrade, revs[i].transactional) end
end

-- Start from an empty database holding schema text `text`.
local function start(text)
  A.reset_pg(url)
  upgrade(render.render(A.compare(A.declared("postgresql", S(text)), A.reflect_pg(url))).revisions)
  return A.reflect_pg(url)
end

local function describe_changes(d, r) return diff.describe(A.compare(d, r)) end

describe("render on a real PostgreSQL #unit #postgres", function()
  if not url then
    pending("needs LMIGRATE_TEST_PG_URL (run under spec/support/with-pg.sh)")
    return
  end

  for _, c in ipairs(A.cases) do
    local name, dialects, before, after, kinds = table.unpack(c)
    local on_pg = not dialects
    for _, d in ipairs(dialects or {}) do on_pg = on_pg or d == "postgresql" end
    if on_pg then
      it(name .. ": upgrade reaches the declared schema, downgrade restores the previous one", function()
        local was = start(before)
        assert.same({}, describe_changes(A.declared("postgresql", S(before)), was))
        local declared = A.declared("postgresql", S(after))
        local chs = A.compare(declared, was)
        assert.same(kinds, A.kinds(chs))
        local revs = render.render(chs).revisions
        upgrade(revs)
        assert.same({}, describe_changes(declared, A.reflect_pg(url)))
        downgrade(revs)
        assert.same({}, describe_changes(was, A.reflect_pg(url)))
      end)
    end
  end

  it("reflects every declared spelling as equal (types, defaults, expressions, checks)", function()
    local text = base .. [[
s.create_schema("billing")
s.create_table("billing.invoices", { "id", "integer", primary_key = true },
  { "total", "numeric(10,2)", server_default = "-1.5" }, { "f", "float" }, { "b", "bytes" },
  { "u", "uuid" }, { "j", "json" }, { "jb", "jsonb", server_default = "'{}'" },
  { "ts", "timestamp(3)" }, { "tz", "timestamptz", server_default = "CURRENT_TIMESTAMP" },
  { "flag", "boolean", server_default = "false" }, { "s", "string", default = "it's" },
  { "st", "string(20)", server_default = "'new'" }, { "arr", "int[]" }, { "sm", "smallint" },
  { "d", "date", server_default = "CURRENT_DATE" })
s.create_index("ix_inv_lower", "billing.invoices", { "st", "id" }, { unique = true, where = "st <> 'x' AND flag" })
s.create_check_constraint("ck_inv_total", "billing.invoices", "total >= 0 AND st IS NOT NULL")
s.create_foreign_key("fk_orders_inv", "orders", "billing.invoices", "customer_id", "id", { on_delete = "SET NULL", on_update = "CASCADE" })
s.create_table_comment("billing.invoices", "it's billing")
s.alter_column("billing.invoices", "total", { comment = "with tax" })
]]
    local r = start(text)
    assert.same({}, describe_changes(A.declared("postgresql", S(text)), r))
    -- and the dump of what PostgreSQL reports loads back equal
    local dumped = require("lmigrate.dump").dump(r)
    assert.same({}, describe_changes(A.declared("postgresql", dumped), r))
  end)

  it("applies the three safe steps for a NOT NULL column on a table with rows", function()
    local was = start(base)
    require("helpers").psql(url, "INSERT INTO customers (email) VALUES ('a@x'), ('b@x')")
    local declared = A.declared("postgresql", S(sub(base, '{ "name", "text" }', '{ "name", "text" }, { "note", "text", nullable = false }')))
    local revs = render.render(A.compare(declared, was)).revisions
    assert.equal(2, #revs)
    -- as written, the data phase refuses to run
    assert.has_error(function() upgrade(revs) end)
    downgrade({ revs[1] })
    -- the author fills in the backfill: the placeholder's value and no error()
    local filled = revs[1].data:gsub("\n    error%b()", ""):gsub('"note" = NULL', [["note" = \'n/a\']])
    upgrade(revs, { filled })
    assert.same({}, describe_changes(declared, A.reflect_pg(url)))
    assert.same({ { "n/a" }, { "n/a" } }, require("helpers").psql(url, "SELECT note FROM customers ORDER BY id"))
    downgrade(revs)
    assert.same({}, describe_changes(was, A.reflect_pg(url)))
  end)
end)
