-- spec/integration/lint_squawk_spec.lua: squawk (the PostgreSQL migration
-- linter, npm package squawk-cli) as the oracle for `lmigrate lint`
-- (issue 12). For a corpus of revisions that change an existing table,
-- every finding squawk makes on the revision's part of lmigrate's --sql
-- output must have the matching lmigrate finding, or a reason in
-- SQUAWK_ONLY below (documented in docs/online-safety.md); and where the
-- table is created in the same revision, lmigrate must find nothing.
-- The rule-by-rule comparison is written to build/squawk-comparison.md.
--
-- squawk is installed in setup with `npm install --prefix DIR squawk-cli`
-- (DIR: $LMIGRATE_SQUAWK_DIR or /tmp/lmigrate-squawk) when it is not
-- there yet; the spec is pending only when npm cannot reach its registry.

local h = require "helpers"
local json = require "dkjson"

-- squawk rule -> the lmigrate rule that covers it.
local SAME = {
  ["require-concurrent-index-creation"] = "require-concurrent-index-creation",
  ["require-concurrent-index-deletion"] = "require-concurrent-index-deletion",
  ["ban-concurrent-index-creation-in-transaction"] = "ban-concurrent-index-creation-in-transaction",
  ["adding-field-with-default"] = "adding-field-with-default",
  ["adding-required-field"] = "adding-required-field",
  ["adding-serial-primary-key-field"] = "adding-primary-key-constraint",
  ["changing-column-type"] = "changing-column-type",
  ["adding-not-nullable-field"] = "setting-not-nullable-field",
  ["ban-drop-not-null"] = "ban-drop-not-null",
  ["adding-foreign-key-constraint"] = "adding-foreign-key-constraint",
  -- squawk says it for every ADD CONSTRAINT; lmigrate names the recipe
  -- that fits the kind (a PRIMARY KEY or UNIQUE cannot be NOT VALID)
  ["constraint-missing-not-valid"] = { "constraint-missing-not-valid",
    "adding-foreign-key-constraint", "disallowed-unique-constraint",
    "adding-primary-key-constraint" },
  ["disallowed-unique-constraint"] = "disallowed-unique-constraint",
  ["renaming-column"] = "renaming-column",
  ["renaming-table"] = "renaming-table",
  ["ban-drop-column"] = "ban-drop-column",
  ["ban-drop-table"] = "ban-drop-table",
  ["prefer-bigint-over-int"] = "prefer-bigint-over-int",
  ["prefer-bigint-over-smallint"] = "prefer-bigint-over-int",
  ["prefer-identity"] = "prefer-identity",
  ["prefer-timestamp-tz"] = "prefer-timestamptz",
  ["ban-char-field"] = "ban-char-field",
  ["transaction-nesting"] = "transaction-nesting",
}

-- squawk rules lmigrate does not have, and why (docs/online-safety.md).
local SQUAWK_ONLY = {
  ["prefer-text-field"] = "VARCHAR(n) growth is a catalog-only change since "
    .. "PostgreSQL 9.2, so a length limit costs nothing to relax; lmigrate "
    .. "reports the shrink that does rewrite (changing-column-type)",
  ["require-lock-timeout"] = "lmigrate runs every revision under SET LOCAL "
    .. "lock_timeout (ddl_lock_timeout, default 5 s) with retries; the --sql "
    .. "script is the statements only",
  ["require-statement-timeout"] = "lmigrate bounds statements with "
    .. "statement_timeout and the lock-hold budget (max_lock_hold), set per "
    .. "revision by the runner, not in the revision",
  ["prefer-robust-stmts"] = "a non-transactional revision that fails is "
    .. "recorded FAILED and blocks the next run until resolved; IF NOT "
    .. "EXISTS would hide a half-built INVALID index",
}

-- Per-case exceptions: squawk findings lmigrate rightly does not make
-- for that statement, with the reason.
local GROWTH = "VARCHAR(n) -> VARCHAR(m >= n) or TEXT keeps the stored bytes "
  .. "valid: PostgreSQL changes the catalog only (no rewrite, no scan)"
local NONPK_INT = "an integer column that is not a primary key does not run "
  .. "out with the row count; lmigrate reports integer primary keys"

local BASE = h.rev { id = "aaa111", slug = "base", up = [[
  op.create_table("users", { "id", "bigint", primary_key = true },
    { "email", "string(100)" }, { "name", "text" }, { "age", "integer" })
  op.create_table("orders", { "id", "bigint", primary_key = true },
    { "user_id", "bigint" }, { "total", "integer" })
  op.create_table("events", { "id", "bigint", nullable = false }, { "kind", "text" })
  op.create_index("ix_orders_user", "orders", "user_id")
]] }

local NT = "  transactional = false,"

-- The corpus: revisions changing the existing tables of BASE.
local EXISTING = {
  { name = "index", up = 'op.create_index("ix_users_name", "users", "name")' },
  { name = "drop index", up = 'op.drop_index("ix_orders_user", { concurrently = false })' },
  { name = "concurrent index", fields = NT,
    up = 'op.create_index("ix_users_name", "users", "name", { concurrently = true })' },
  { name = "volatile default",
    up = 'op.add_column("users", { "token", "uuid", server_default = "gen_random_uuid()" })' },
  { name = "constant default",
    up = 'op.add_column("users", { "flag", "boolean", nullable = false, server_default = "false" })' },
  { name = "required column", up = 'op.add_column("users", { "code", "text", nullable = false })' },
  { name = "type change", up = 'op.alter_column("users", "age", { type = "bigint" })',
    except = { ["prefer-bigint-over-int"] = NONPK_INT } },
  { name = "varchar growth", up = 'op.alter_column("users", "email", { type = "string(200)" })',
    except = { ["changing-column-type"] = GROWTH } },
  { name = "varchar to text", up = 'op.alter_column("users", "email", { type = "text" })',
    except = { ["changing-column-type"] = GROWTH } },
  { name = "varchar shrink", up = 'op.alter_column("users", "email", { type = "string(50)" })' },
  { name = "set not null", up = 'op.alter_column("users", "name", { nullable = false })' },
  { name = "drop not null", up = 'op.alter_column("events", "id", { nullable = true })' },
  { name = "foreign key",
    up = 'op.create_foreign_key("fk_orders_user", "orders", "users", "user_id", "id")' },
  { name = "foreign key not valid",
    up = 'op.create_foreign_key("fk_orders_user", "orders", "users", "user_id", "id", { not_valid = true })' },
  { name = "check", up = 'op.create_check_constraint("ck_age", "users", "age >= 0")' },
  { name = "check not valid",
    up = 'op.create_check_constraint("ck_age", "users", "age >= 0", { not_valid = true })' },
  { name = "check validated in the same transaction",
    up = 'op.create_check_constraint("ck_age", "users", "age >= 0", { not_valid = true }) '
      .. 'op.validate_constraint("users", "ck_age")' },
  { name = "unique constraint",
    up = 'op.create_unique_constraint("uq_users_email", "users", "email")' },
  { name = "primary key", up = 'op.create_primary_key("events_pkey", "events", "id")' },
  { name = "rename column", up = 'op.alter_column("users", "name", { new_name = "full_name" })' },
  { name = "rename table", up = 'op.rename_table("orders", "purchases")' },
  { name = "drop column", up = 'op.drop_column("users", "name")' },
  { name = "drop table", up = 'op.drop_table("orders")' },
  { name = "integer primary key",
    up = 'op.create_table("t_int", { "id", "integer", primary_key = true }, { "n", "text" })' },
  { name = "serial", up = 'op.create_table("t_ser", { "id", "bigserial", primary_key = true })' },
  { name = "timestamp", up = 'op.add_column("users", { "seen_at", "timestamp" })' },
  { name = "char", up = 'op.add_column("users", { "cc", "char(2)" })' },
  { name = "concurrently in a transaction",
    up = 'op.execute("CREATE INDEX CONCURRENTLY ix_e ON users (email)")' },
  { name = "commit inside", up = 'op.execute("COMMIT")' },
  { name = "whole-table update", up = 'op.execute("UPDATE users SET name = lower(name)")' },
}

-- The same statements on a table the revision creates: nothing to report.
local NEW = 'op.create_table("t_new", { "id", "bigint", nullable = false }, '
  .. '{ "n", "text" }, { "v", "string(10)" }, { "o", "bigint" }) '
local FRESH = {
  { name = "index", up = NEW .. 'op.create_index("ix_t_new_n", "t_new", "n")' },
  { name = "volatile default",
    up = NEW .. 'op.add_column("t_new", { "token", "uuid", server_default = "gen_random_uuid()" })' },
  { name = "required column", up = NEW .. 'op.add_column("t_new", { "c", "text", nullable = false })' },
  { name = "type change", up = NEW .. 'op.alter_column("t_new", "v", { type = "string(5)" })' },
  { name = "set not null", up = NEW .. 'op.alter_column("t_new", "n", { nullable = false })' },
  { name = "foreign key",
    up = NEW .. 'op.create_foreign_key("fk_t_new_o", "t_new", "orders", "o", "id")' },
  { name = "check", up = NEW .. 'op.create_check_constraint("ck_n", "t_new", "n <> \'\'")' },
  { name = "unique constraint", up = NEW .. 'op.create_unique_constraint("uq_n", "t_new", "n")' },
  { name = "primary key", up = NEW .. 'op.create_primary_key("t_new_pkey", "t_new", "id")' },
  { name = "rename column", up = NEW .. 'op.alter_column("t_new", "n", { new_name = "m" })' },
  { name = "drop column", up = NEW .. 'op.drop_column("t_new", "n")' },
  { name = "drop table", up = NEW .. 'op.drop_table("t_new")' },
  { name = "whole-table update", up = NEW .. 'op.execute("UPDATE t_new SET n = \'x\'")' },
}

local squawk_bin

-- The lmigrate rule among SAME[rule] that found something in lm, or nil.
local function matching(rule, lm)
  local m = SAME[rule]
  if type(m) == "string" then m = { m } end
  for _, l in ipairs(m or {}) do
    if lm[l] then return l end
  end
  return nil
end

-- squawk's path, installing squawk-cli with npm when needed; nil and why
-- when npm cannot.
local function find_squawk()
  local dir = os.getenv("LMIGRATE_SQUAWK_DIR") or "/tmp/lmigrate-squawk"
  for _, p in ipairs({ dir .. "/node_modules/.bin/squawk",
                       "/tmp/squawk/node_modules/.bin/squawk" }) do
    if h.exists(p) then return p end
  end
  local r = h.run({ "install", "--no-audit", "--no-fund", "--prefix", dir, "squawk-cli" },
                  { bin = "npm", timeout = 300 })
  if r.code ~= 0 then return nil, "npm install squawk-cli failed: " .. r.err end
  return dir .. "/node_modules/.bin/squawk"
end

local function project(rev_up, fields)
  local dir = h.tmpdir()
  h.project(dir, { BASE, h.rev { id = "bbb222", down = "aaa111", slug = "t",
                                 fields = fields, up = rev_up } })
  return dir
end

-- squawk's rule names for the revision's statements in lmigrate's --sql
-- output (bookkeeping statements, before "-- Running upgrade" and from
-- the version-table update on, are lmigrate's own).
local function squawk_rules(dir, url)
  local r = h.run({ "-u", url, "upgrade", "aaa111:bbb222", "--sql" }, { cwd = dir })
  assert(r.code == 0, r.err)
  h.write(dir .. "/rev.sql", r.out)
  local first, last, n = math.huge, 0, 0
  for line in (r.out .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%-%- Running upgrade") then first = n end
    if line:match('^UPDATE "lmigrate_version"') or line:match('^INSERT INTO "lmigrate_version"') then
      if last == 0 and n > first then last = n end
    end
  end
  local s = h.run({ "--reporter", "json", "--pg-version", "16", dir .. "/rev.sql" },
                  { bin = squawk_bin })
  local found = assert(json.decode(s.out), s.out .. s.err)
  local rules = {}
  for _, f in ipairs(found) do
    if f.line + 1 > first and f.line + 1 < last then rules[f.rule_name] = true end
  end
  return rules, r.out
end

local function lmigrate_rules(dir, url)
  local r = h.run({ "-u", url, "lint", "--json" }, { cwd = dir })
  local doc = assert(json.decode(r.out), r.out .. r.err)
  local rules = {}
  for _, f in ipairs(doc.findings) do rules[f.rule] = true end
  return rules, doc
end

describe("lint against squawk #integration #postgres", function()
  local url, why_pending
  local seen = {}   -- comparison: key -> { squawk =, lmigrate =, status =, cases = {} }

  local function note(key, squawk, lm, status, case)
    local e = seen[key] or { squawk = squawk, lmigrate = lm, status = status, cases = {} }
    seen[key] = e
    if status ~= e.status and e.status == "both" then e.also = status end
    e.cases[#e.cases + 1] = case
  end

  setup(function()
    squawk_bin, why_pending = find_squawk()
    url = h.db_url("postgres")
    local r = h.run({ "-u", url, "upgrade", "aaa111" }, { cwd = project("") })
    assert(r.code == 0, r.err)
  end)

  teardown(function()
    if not squawk_bin then return end
    local keys = {}
    for k in pairs(seen) do keys[#keys + 1] = k end
    table.sort(keys)
    local out = { "| squawk rule | lmigrate rule | result | corpus cases |",
                  "|---|---|---|---|" }
    for _, k in ipairs(keys) do
      local e = seen[k]
      out[#out + 1] = ("| %s | %s | %s | %s |"):format(e.squawk or "-",
        e.lmigrate or "-", e.status, table.concat(e.cases, "; "))
    end
    os.execute("mkdir -p " .. h.quote(h.root .. "/build"))
    h.write(h.root .. "/build/squawk-comparison.md", table.concat(out, "\n") .. "\n")
  end)

  for _, c in ipairs(EXISTING) do
    it("existing table, " .. c.name .. ": every squawk finding is matched or explained", function()
      if not squawk_bin then pending(why_pending) return end
      local dir = project(c.up, c.fields)
      local sq, sql = squawk_rules(dir, url)
      local lm, doc = lmigrate_rules(dir, url)
      for rule in pairs(sq) do
        local reason = (c.except or {})[rule] or SQUAWK_ONLY[rule]
        local lrule = matching(rule, lm)
        if SAME[rule] and not reason then
          assert.is_string(lrule, ("squawk %s on %s has no matching lmigrate finding:\n%s\n%s")
            :format(rule, c.name, sql, json.encode(doc)))
          note(rule .. "/" .. lrule, rule, lrule, "both", c.name)
        else
          assert.is_string(reason, ("squawk finding %s on %s is neither matched nor explained:\n%s")
            :format(rule, c.name, sql))
          assert.is_nil(lrule, rule)
          note(rule .. (SAME[rule] and (" (" .. c.name .. ")") or ""), rule,
               type(SAME[rule]) == "string" and SAME[rule] or nil,
               "squawk only: " .. reason, c.name)
        end
      end
      for rule in pairs(lm) do
        local matched = false
        for s in pairs(sq) do
          if matching(s, { [rule] = true }) then matched = true end
        end
        if not matched then note("~" .. rule, nil, rule, "lmigrate only", c.name) end
      end
    end)
  end

  for _, c in ipairs(FRESH) do
    it("table created in the same revision, " .. c.name .. ": no lmigrate finding", function()
      if not squawk_bin then pending(why_pending) return end
      local dir = project(c.up)
      local lm, doc = lmigrate_rules(dir, url)
      assert.same({}, lm, json.encode(doc))
      local sq = squawk_rules(dir, url)
      for rule in pairs(sq) do
        note("new table: " .. rule, rule, "-", "squawk only: the table is created in "
          .. "the same revision, so nobody else can be locked out of it", c.name)
      end
    end)
  end
end)
