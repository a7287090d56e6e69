-- spec/integration/lint_spec.lua: `lmigrate lint` (issue 12, part 1).
-- Every rule has a finding and a no-finding case on PostgreSQL, linting
-- the pending revision against a database where the base revision (the
-- tables, 20,000 analyzed rows) is applied; SQLite for the rules that
-- apply there; config and per-revision disabling, a custom rule folder,
-- --json, the range forms, --online sizes, and `upgrade` with lint =
-- "error" | "warn" | "off".

local h = require "helpers"
local json = require "dkjson"

-- The base revision: users, orders, events (no primary key), big enough
-- (20,000 analyzed rows) that a rewrite is an error, and "tiny" (10 rows).
local BASE_PG = h.rev { id = "aaa111", slug = "base", up = [[
  op.create_table("users", { "id", "bigint", primary_key = true },
    { "email", "string(100)" }, { "name", "text" }, { "age", "integer" })
  op.create_table("orders", { "id", "bigint", primary_key = true },
    { "user_id", "bigint" }, { "total", "integer" })
  op.create_table("events", { "id", "bigint", nullable = false }, { "kind", "text" })
  op.create_table("tiny", { "id", "bigint", primary_key = true }, { "n", "text" })
  op.create_index("ix_orders_user", "orders", "user_id")
  op.execute("INSERT INTO users (id, email, name) SELECT g, 'u' || g, 'n' FROM generate_series(1, 20000) g")
  op.execute("INSERT INTO orders (id, user_id) SELECT g, g FROM generate_series(1, 20000) g")
  op.execute("INSERT INTO events (id) SELECT g FROM generate_series(1, 20000) g")
  op.execute("INSERT INTO tiny (id) SELECT g FROM generate_series(1, 10) g")
  op.execute("ANALYZE users") op.execute("ANALYZE orders")
  op.execute("ANALYZE events") op.execute("ANALYZE tiny")
]] }

local BASE_SQLITE = h.rev { id = "aaa111", slug = "base", up = [[
  op.create_table("users", { "id", "bigint", primary_key = true },
    { "email", "string(100)" }, { "name", "text" }, { "age", "integer" })
  op.create_table("orders", { "id", "bigint", primary_key = true },
    { "user_id", "bigint" }, { "total", "integer" })
  op.create_index("ix_orders_user", "orders", "user_id")
  op.execute("INSERT INTO users (id, email) VALUES (1, 'a'), (2, 'b')")
]] }

-- A new table in the revision under test, for the no-finding cases.
local NEW = 'op.create_table("t_new", { "id", "bigint", primary_key = true }, '
  .. '{ "n", "text" }, { "v", "string(10)" }) '

local NT = "  transactional = false,"

-- rule, severity, bad (upgrade body), good (upgrade body), fields of the
-- good revision (e.g. transactional = false).
local PG_CASES = {
  { "require-concurrent-index-creation", "error",
    'op.create_index("ix_users_name", "users", "name")',
    'op.create_index("ix_users_name", "users", "name", { concurrently = true })', NT },
  { "require-concurrent-index-creation", "error",
    'op.execute("CREATE INDEX ix_e ON users (email)")',
    NEW .. 'op.create_index("ix_t_new", "t_new", "n")' },
  { "require-concurrent-index-deletion", "warning",
    'op.drop_index("ix_orders_user")',
    'op.drop_index("ix_orders_user", { concurrently = true })', NT },
  { "ban-concurrent-index-creation-in-transaction", "error",
    'op.execute("CREATE INDEX CONCURRENTLY ix_e ON users (email)")',
    'op.execute("CREATE INDEX CONCURRENTLY ix_e ON users (email)")', NT },
  { "adding-field-with-default", "error",
    'op.add_column("users", { "token", "uuid", server_default = "gen_random_uuid()" })',
    'op.add_column("users", { "seen", "timestamptz", server_default = "now()" })' },
  { "adding-required-field", "error",
    'op.add_column("users", { "code", "text", nullable = false })',
    'op.add_column("users", { "code", "text", nullable = false, server_default = "\'x\'" })' },
  { "adding-primary-key-constraint", "error",
    'op.create_primary_key("events_pkey", "events", "id")',
    NEW:gsub('primary_key = true', 'nullable = false')
      .. 'op.create_primary_key("t_new_pkey", "t_new", "id")' },
  { "changing-column-type", "error",
    'op.alter_column("users", "email", { type = "string(50)" })',
    'op.alter_column("users", "email", { type = "string(200)" })' },
  { "changing-column-type", "error",
    'op.alter_column("users", "age", { type = "bigint" })',
    'op.alter_column("users", "email", { type = "text" })' },
  { "setting-not-nullable-field", "error",
    'op.alter_column("users", "name", { nullable = false })',
    NEW .. 'op.alter_column("t_new", "n", { nullable = false })' },
  { "ban-drop-not-null", "warning",
    'op.alter_column("events", "id", { nullable = true })',
    NEW .. 'op.alter_column("t_new", "id", { nullable = true })' },
  { "adding-foreign-key-constraint", "error",
    'op.create_foreign_key("fk_orders_user", "orders", "users", "user_id", "id")',
    'op.create_foreign_key("fk_orders_user", "orders", "users", "user_id", "id", { not_valid = true })' },
  { "constraint-missing-not-valid", "error",
    'op.create_check_constraint("ck_age", "users", "age >= 0")',
    'op.create_check_constraint("ck_age", "users", "age >= 0", { not_valid = true })' },
  { "constraint-missing-not-valid", "error",
    'op.create_check_constraint("ck_age", "users", "age >= 0", { not_valid = true }) '
      .. 'op.validate_constraint("users", "ck_age")',
    NEW .. 'op.create_check_constraint("ck_n", "t_new", "n <> \'\'")' },
  { "disallowed-unique-constraint", "error",
    'op.create_unique_constraint("uq_users_email", "users", "email")',
    NEW .. 'op.create_unique_constraint("uq_t_new_n", "t_new", "n")' },
  { "renaming-column", "warning",
    'op.alter_column("users", "name", { new_name = "full_name" })',
    NEW .. 'op.alter_column("t_new", "n", { new_name = "m" })' },
  { "renaming-table", "warning",
    'op.rename_table("orders", "purchases")',
    NEW .. 'op.rename_table("t_new", "t_newer")' },
  { "ban-drop-column", "warning",
    'op.drop_column("users", "name")',
    NEW .. 'op.drop_column("t_new", "n")' },
  { "ban-drop-table", "warning",
    'op.drop_table("orders")',
    NEW .. 'op.drop_table("t_new")' },
  { "prefer-bigint-over-int", "warning",
    'op.create_table("t_int", { "id", "integer", primary_key = true })',
    'op.create_table("t_big", { "id", "bigint", primary_key = true })' },
  { "prefer-identity", "warning",
    'op.create_table("t_ser", { "id", "bigserial", primary_key = true })',
    'op.create_table("t_idn", { "id", "bigint", primary_key = true, autoincrement = true })' },
  { "prefer-timestamptz", "warning",
    'op.add_column("users", { "seen_at", "timestamp" })',
    'op.add_column("users", { "seen_at", "timestamptz" })' },
  { "ban-char-field", "warning",
    'op.add_column("users", { "cc", "char(2)" })',
    'op.add_column("users", { "cc", "string(2)" })' },
  { "whole-table-dml", "error",
    'op.execute("UPDATE users SET name = lower(name)")',
    'op.execute("UPDATE users SET name = lower(name) WHERE id = 1")' },
  { "whole-table-dml", "error",
    'op.execute("DELETE FROM orders")',
    NEW .. 'op.execute("DELETE FROM t_new")' },
  { "transaction-nesting", "error",
    'op.execute("COMMIT")',
    'op.execute("SELECT 1")' },
}

-- Write a project into a new directory: the base revision and bbb222
-- (upgrade body `up`, extra fields), plus any further revisions.
local function project(base, up, fields, config, more)
  local dir = h.tmpdir()
  local revs = { base, h.rev { id = "bbb222", down = "aaa111", slug = "t",
                                fields = fields, up = up } }
  for _, r in ipairs(more or {}) do revs[#revs + 1] = r end
  h.project(dir, revs, config and { config = config } or nil)
  return dir
end

local function lint(dir, url, args)
  local a = { "-u", url, "lint" }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  return h.run(a, { cwd = dir })
end

-- The line of bbb222's upgrade function: 5, or 6 with extra fields.
local function loc(fields)
  return ("versions/bbb222_t.lua:%d: "):format(fields and 6 or 5)
end

describe("lmigrate lint #integration #postgres", function()
  local url

  -- One database with the base revision applied; every case lints its
  -- pending bbb222 against it.
  setup(function()
    url = h.db_url("postgres")
    local dir = project(BASE_PG, "")
    local r = h.run({ "-u", url, "upgrade", "aaa111" }, { cwd = dir })
    assert(r.code == 0, r.err)
  end)

  for i, c in ipairs(PG_CASES) do
    local rule, sev, bad, good, gfields = c[1], c[2], c[3], c[4], c[5]
    it(("%s (%d): finds %s"):format(rule, i, bad), function()
      local r = lint(project(BASE_PG, bad), url)
      assert.matches(loc() .. rule .. ": " .. sev .. ": ", r.out, 1, true)
      assert.matches("\n  fix: ", r.out, 1, true)
      if sev == "error" then assert.equal(1, r.code, r.out .. r.err)
      else assert.equal(0, r.code, r.out .. r.err) end
    end)
    it(("%s (%d): no finding for %s"):format(rule, i, good), function()
      local r = lint(project(BASE_PG, good, gfields), url)
      assert.is_nil(r.out:find(rule .. ":", 1, true), r.out)
    end)
  end

  it("accepts the NOT NULL recipe: CHECK NOT VALID, VALIDATE later, SET NOT NULL", function()
    local dir = project(BASE_PG,
      'op.create_check_constraint("ck_name_nn", "users", "name IS NOT NULL", { not_valid = true })',
      nil, nil, {
        h.rev { id = "ccc333", down = "bbb222", slug = "v",
                up = 'op.validate_constraint("users", "ck_name_nn")' },
        h.rev { id = "ddd444", down = "ccc333", slug = "nn",
                up = 'op.alter_column("users", "name", { nullable = false }) '
                  .. 'op.drop_constraint("ck_name_nn", "users")' } })
    local r = lint(dir, url)
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("lint: no findings in 3 revisions", r.out, 1, true)
  end)

  it("reads the applied CHECK from the live catalog: SET NOT NULL after it is accepted", function()
    local nn = 'op.alter_column("users", "name", { nullable = false })'
    local check = 'op.create_check_constraint("ck_name_nn", "users", "name IS NOT NULL", { not_valid = true })'
    -- applied but NOT VALID: SET NOT NULL still scans
    local db = h.db_url("postgres")
    local dir = project(BASE_PG, check, nil, nil, {
      h.rev { id = "ddd444", down = "bbb222", slug = "nn", up = nn } })
    assert.equal(0, h.run({ "-u", db, "upgrade", "bbb222" }, { cwd = dir }).code)
    local r = lint(dir, db)
    assert.equal(1, r.code, r.out .. r.err)
    assert.matches("versions/ddd444_nn.lua:5: setting-not-nullable-field: error:", r.out, 1, true)
    -- applied and validated: accepted
    db = h.db_url("postgres")
    dir = project(BASE_PG, check, nil, nil, {
      h.rev { id = "ccc333", down = "bbb222", slug = "v",
              up = 'op.validate_constraint("users", "ck_name_nn")' },
      h.rev { id = "ddd444", down = "ccc333", slug = "nn", up = nn } })
    assert.equal(0, h.run({ "-u", db, "upgrade", "ccc333" }, { cwd = dir }).code)
    r = lint(dir, db)
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("lint: no findings in 1 revision", r.out, 1, true)
  end)

  it("a table created by an earlier pending revision is new; with a range it is not", function()
    local dir = project(BASE_PG, NEW, nil, nil, {
      h.rev { id = "ccc333", down = "bbb222", slug = "ix",
              up = 'op.create_index("ix_t_new_n", "t_new", "n")' } })
    local r = lint(dir, url)
    assert.equal(0, r.code, r.out .. r.err)
    assert.is_nil(r.out:find("require-concurrent-index-creation", 1, true), r.out)
    r = lint(dir, url, { "base:heads" })
    assert.equal(1, r.code, r.out .. r.err)
    assert.matches("versions/ccc333_ix.lua:5: require-concurrent-index-creation: error:",
                   r.out, 1, true)
  end)

  it("--online: a rewrite of a small table is a warning that says why", function()
    local dir = project(BASE_PG, 'op.alter_column("tiny", "n", { type = "integer", using = "n::integer" })')
    local r = lint(dir, url, { "--online" })
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches(loc() .. "changing-column-type: warning: ", r.out, 1, true)
    assert.matches('(table "tiny" is small: ~10 rows', r.out, 1, true)
    r = lint(dir, url, { "bbb222" })
    assert.equal(1, r.code, r.out .. r.err)
    assert.matches("changing-column-type: error:", r.out, 1, true)
  end)

  it("--json gives every finding with file, line, rule, severity, message, fix", function()
    local r = lint(project(BASE_PG, 'op.create_index("ix_users_name", "users", "name") '
      .. 'op.drop_column("users", "age")'), url, { "--json" })
    assert.equal(1, r.code, r.err)
    local doc = assert(json.decode(r.out), r.out)
    assert.equal(1, doc.errors)
    assert.equal(1, doc.warnings)
    assert.equal(1, doc.revisions)
    assert.same({ "require-concurrent-index-creation", "ban-drop-column" },
                { doc.findings[1].rule, doc.findings[2].rule })
    assert.equal("versions/bbb222_t.lua", doc.findings[1].file)
    assert.equal(5, doc.findings[1].line)
    assert.equal("error", doc.findings[1].severity)
    assert.equal("bbb222", doc.findings[1].revision)
    assert.equal("create_index", doc.findings[1].op)
    assert.truthy(doc.findings[1].fix:find("concurrently", 1, true))
  end)

  it("an op the offline rendering refuses is an op-error finding", function()
    local r = lint(project(BASE_PG,
      'op.create_index("ix_users_name", "users", "name", { concurrently = true })'), url)
    assert.equal(1, r.code, r.out .. r.err)
    assert.matches(loc() .. "op-error: error: op.create_index fails: create_index: "
      .. "concurrently = true needs a non-transactional revision", r.out, 1, true)
  end)

  it("config lint.disable and the revision's lint.disable silence a rule", function()
    local bad = 'op.create_index("ix_users_name", "users", "name")'
    local cfg = ('return { url = %q, lint = { disable = { "require-concurrent-index-creation" } } }\n')
      :format(url)
    local r = lint(project(BASE_PG, bad, nil, cfg), url)
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("lint: no findings in 1 revision", r.out, 1, true)
    r = lint(project(BASE_PG, bad,
      '  lint = { disable = { "require-concurrent-index-creation" } },'), url)
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("lint: no findings in 1 revision", r.out, 1, true)
  end)

  it("an unknown rule name in lint.disable is an error naming the file", function()
    local r = lint(project(BASE_PG, "", '  lint = { disable = { "require-concurent-index-creation" } },'), url)
    assert.equal(1, r.code)
    assert.matches('versions/bbb222_t.lua: lint.disable: unknown lint rule "require-concurent-index-creation"',
                   r.err, 1, true)
    r = lint(project(BASE_PG, "", nil, 'return { lint = "loud" }\n'), url)
    assert.equal(1, r.code)
    assert.matches('lmigrate.lua: lint = "loud" is not a mode', r.err, 1, true)
  end)

  it("runs the project's own rules from lint.rules_path", function()
    local dir = project(BASE_PG, 'op.drop_index("ix_orders_user", { concurrently = true })', NT,
      'return { lint = { rules_path = "lint_rules" } }\n')
    h.write(dir .. "/lint_rules/no-orders-index-drop.lua", [[
return {
  name = "no-orders-index-drop", severity = "error",
  check = function(rec, ctx)
    if rec.op == "drop_index" and rec.args[1] == "ix_orders_user" then
      return { message = "orders needs ix_orders_user", fix = "keep it" }
    end
  end,
}
]])
    local r = lint(dir, url)
    assert.equal(1, r.code, r.out .. r.err)
    assert.matches("versions/bbb222_t.lua:6: no-orders-index-drop: error: orders needs ix_orders_user\n  fix: keep it",
                   r.out, 1, true)
  end)

  describe("upgrade", function()
    local bad = 'op.create_index("ix_users_age", "users", "age")'

    it('lint = "error" refuses to run and changes nothing', function()
      local db = h.db_url("postgres")
      local dir = project(BASE_PG, bad, nil, 'return { lint = "error" }\n')
      assert.equal(0, h.run({ "-u", db, "upgrade", "aaa111" }, { cwd = dir }).code)
      local r = h.run({ "-u", db, "upgrade", "head" }, { cwd = dir })
      assert.equal(1, r.code, r.out .. r.err)
      assert.matches(loc() .. "require-concurrent-index-creation: error:", r.err, 1, true)
      assert.matches("lint found 1 error in the revisions to apply; nothing was changed", r.err, 1, true)
      assert.same({ "aaa111" }, h.versions(db))
      assert.is_nil(h.query(db, "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_users_age'")[1])
    end)

    it('lint = "warn" (the default) prints the findings and applies', function()
      local db = h.db_url("postgres")
      local dir = project(BASE_PG, bad)
      -- from base, users is created by this run: nothing to report
      local r = h.run({ "-u", db, "upgrade", "head" }, { cwd = dir })
      assert.equal(0, r.code, r.out .. r.err)
      assert.is_nil(r.err:find("lint", 1, true), r.err)
      assert.same({ "bbb222" }, h.versions(db))
      -- the second revision alone, on an existing table:
      local db2 = h.db_url("postgres")
      assert.equal(0, h.run({ "-u", db2, "upgrade", "aaa111" }, { cwd = dir }).code)
      r = h.run({ "-u", db2, "upgrade", "head" }, { cwd = dir })
      assert.equal(0, r.code, r.out .. r.err)
      assert.matches(loc() .. "require-concurrent-index-creation: error:", r.err, 1, true)
      assert.matches("lmigrate: lint: 1 error, 0 warnings in the 1 revision to apply", r.err, 1, true)
      assert.same({ "bbb222" }, h.versions(db2))
    end)

    it('lint = "off" prints nothing', function()
      local db = h.db_url("postgres")
      local dir = project(BASE_PG, bad, nil, 'return { lint = { mode = "off" } }\n')
      assert.equal(0, h.run({ "-u", db, "upgrade", "aaa111" }, { cwd = dir }).code)
      local r = h.run({ "-u", db, "upgrade", "head" }, { cwd = dir })
      assert.equal(0, r.code, r.out .. r.err)
      assert.is_nil(r.err:find("lint", 1, true), r.err)
    end)
  end)
end)

describe("lmigrate lint #integration #sqlite", function()
  local SQLITE_CASES = {
    { "adding-required-field", 'op.add_column("users", { "code", "text", nullable = false })',
      'op.add_column("users", { "code", "text", nullable = false, default = "x" })' },
    { "renaming-column", 'op.alter_column("users", "name", { new_name = "full_name" })',
      NEW .. 'op.alter_column("t_new", "n", { new_name = "m" })' },
    { "renaming-table", 'op.rename_table("orders", "purchases")',
      NEW .. 'op.rename_table("t_new", "t_newer")' },
    { "ban-drop-column", 'op.drop_column("users", "name")', NEW .. 'op.drop_column("t_new", "n")' },
    { "ban-drop-table", 'op.drop_table("orders")', NEW .. 'op.drop_table("t_new")' },
    { "whole-table-dml", 'op.execute("UPDATE users SET name = \'x\'")',
      'op.execute("UPDATE users SET name = \'x\' WHERE id = 1")' },
    { "transaction-nesting", 'op.execute("COMMIT")', 'op.execute("SELECT 1")' },
  }

  local function sqlite_project(up)
    local dir = project(BASE_SQLITE, up)
    local url = h.db_url("sqlite", dir)
    local r = h.run({ "-u", url, "upgrade", "aaa111" }, { cwd = dir })
    assert(r.code == 0, r.err)
    return dir, url
  end

  for _, c in ipairs(SQLITE_CASES) do
    it(c[1] .. ": finding and no finding", function()
      local dir, url = sqlite_project(c[2])
      local r = lint(dir, url)
      assert.matches(loc() .. c[1] .. ":", r.out, 1, true)
      dir, url = sqlite_project(c[3])
      r = lint(dir, url)
      assert.is_nil(r.out:find(c[1] .. ":", 1, true), r.out)
    end)
  end

  it("PostgreSQL lock rules do not fire on SQLite", function()
    local dir, url = sqlite_project('op.create_index("ix_users_name", "users", "name") '
      .. 'op.add_column("users", { "at", "timestamp" }) '
      .. 'op.create_check_constraint("ck_age", "users", "age >= 0")')
    local r = lint(dir, url)
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("lint: no findings in 1 revision", r.out, 1, true)
  end)

  it("without a reachable database lints every revision", function()
    local dir = project(BASE_SQLITE, 'op.drop_column("users", "name")')
    local r = lint(dir, "sqlite:" .. dir .. "/missing.db")
    assert.equal(0, r.code, r.out .. r.err)
    assert.matches("no database reachable", r.err, 1, true)
    assert.matches("lint: 0 errors, 1 warning in 2 revisions", r.out, 1, true)
    assert.is_false(h.exists(dir .. "/missing.db"))
  end)

  it("usage errors exit 2", function()
    local dir = project(BASE_SQLITE, "")
    local r = lint(dir, "sqlite:x.db", { "--bogus" })
    assert.equal(2, r.code)
    assert.matches("lint: unknown option '--bogus'", r.err, 1, true)
    r = lint(dir, "sqlite:x.db", { "zzz:heads" })
    assert.equal(2, r.code)
    r = h.run({ "lint", "-h" }, { cwd = dir })
    assert.equal(0, r.code)
    assert.matches("usage: lmigrate lint [RANGE] [--online] [--json]", r.out, 1, true)
  end)
end)
