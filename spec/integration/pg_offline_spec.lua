-- spec/integration/pg_offline_spec.lua: offline `--sql` scripts for
-- PostgreSQL (issue 3). BEGIN/COMMIT per revision (one pair with
-- transaction_per_migration = false), non-transactional revisions outside
-- any transaction, and piping the script into `psql -v ON_ERROR_STOP=1`
-- yields the same schema and version rows as an online run.

local h = require "helpers"

local rev = h.rev

-- aaa111 (transactional): tables items and tags, some rows.
local function r_items()
  return rev { id = "aaa111", slug = "items",
    up = 'op.create_table("items", {"id", "integer", primary_key = true}, ' ..
         '{"code", "string(10)", nullable = false}, {"qty", "integer", default = 0}) ' ..
         'op.create_table("tags", {"id", "integer", primary_key = true}, ' ..
         '{"item_id", "integer", references = "items.id", on_delete = "cascade"}, ' ..
         '{"label", "text"}) ' ..
         [[op.execute("INSERT INTO items (id, code) VALUES (1, 'a'), (2, 'b')")]],
    dn = 'op.drop_table("tags") op.drop_table("items")' }
end

-- bbb222 (non-transactional): an index built concurrently.
local function r_concurrent()
  return rev { id = "bbb222", down = "aaa111", slug = "index",
    fields = "transactional = false,",
    up = 'op.create_index("ix_items_code", "items", {"code"}, { concurrently = true })',
    dn = 'op.drop_index("ix_items_code", { concurrently = true })' }
end

-- ccc333 (transactional): a column, a unique partial index, a data change.
local function r_more(down)
  return rev { id = "ccc333", down = down or "bbb222", slug = "more",
    up = 'op.add_column("items", {"note", "string(40)"}) ' ..
         'op.create_index("ux_tags_label", "tags", {"item_id", "label"}, ' ..
         '{ unique = true, where = "label IS NOT NULL" }) ' ..
         [[op.execute("UPDATE items SET note = $1 WHERE id = $2", { "it's", 2 })]],
    dn = 'op.drop_index("ux_tags_label") op.drop_column("items", "note")' }
end

-- A fresh project on a fresh PostgreSQL database; extra is Lua source
-- added to the config table.
local function setup(revs, extra)
  return h.setup("postgres", revs, { extra = extra })
end

local run = h.run_in
local show = h.show

-- Pipe script into `psql -v ON_ERROR_STOP=1` on url; returns the exit
-- status and psql's output.
local function pipe_psql(url, script)
  local f = os.tmpname()
  h.write(f, script)
  local p = assert(io.popen(("psql -X -q -v ON_ERROR_STOP=1 -d %s -f %s 2>&1; echo \"rc=$?\"")
    :format(h.quote(url), h.quote(f))))
  local out = p:read("a")
  p:close()
  os.remove(f)
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out
end

local function flat(rows)
  local t = {}
  for i, r in ipairs(rows) do t[i] = table.concat(r, " | ") end
  return t
end

-- What must match between an online run and a replayed script: tables,
-- columns (type, nullability, default), indexes (definitions, validity),
-- constraints, version rows, history (revision direction outcome), data.
local function snapshot(url)
  local s = {}
  s.tables = h.tables(url)
  s.columns = flat(h.query(url, "SELECT table_name, column_name, data_type, " ..
    "coalesce(character_maximum_length::text, ''), is_nullable, " ..
    "coalesce(column_default, '') FROM information_schema.columns " ..
    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"))
  s.indexes = flat(h.query(url, "SELECT indexname, indexdef FROM pg_indexes " ..
    "WHERE schemaname = current_schema() ORDER BY indexname"))
  s.invalid = flat(h.query(url, "SELECT c.relname FROM pg_catalog.pg_index i " ..
    "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid " ..
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " ..
    "WHERE n.nspname = current_schema() AND NOT i.indisvalid"))
  s.constraints = flat(h.query(url, "SELECT conrelid::regclass::text, conname, " ..
    "pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint " ..
    "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"))
  s.versions = h.versions(url)
  s.history = flat(h.query(url, "SELECT revision, direction, outcome " ..
    "FROM lmigrate_version_history ORDER BY id"))
  if #s.tables > 0 and h.query(url, "SELECT to_regclass('items') IS NOT NULL")[1][1] == "t" then
    s.items = flat(h.query(url, "SELECT * FROM items ORDER BY id"))
  end
  return s
end

-- The script's structure: for each statement line, whether it is inside
-- a BEGIN..COMMIT. Returns { {line=, in_tx=}, ... }, the number of BEGINs
-- and COMMITs; raises on a nested BEGIN or a stray COMMIT.
local function structure(script)
  local lines, in_tx, nbegin, ncommit = {}, false, 0, 0
  for line in script:gmatch("([^\n]*)\n") do
    if line == "BEGIN;" then
      assert(not in_tx, "nested BEGIN in:\n" .. script)
      in_tx, nbegin = true, nbegin + 1
    elseif line == "COMMIT;" then
      assert(in_tx, "COMMIT outside a transaction in:\n" .. script)
      in_tx, ncommit = false, ncommit + 1
    else
      lines[#lines + 1] = { line = line, in_tx = in_tx }
    end
  end
  assert(not in_tx, "the script ends inside a transaction:\n" .. script)
  return lines, nbegin, ncommit
end

-- Whether the line matching pattern (plain) is inside a transaction;
-- raises when no line matches.
local function in_tx_at(lines, text)
  for _, l in ipairs(lines) do
    if l.line:find(text, 1, true) then return l.in_tx end
  end
  error("no line with " .. text)
end

local function only_postgres(fn)
  for _, b in ipairs(h.each_backend()) do
    if b == "postgres" then return fn() end
  end
end

only_postgres(function()
describe("offline --sql for PostgreSQL [postgres] #integration #postgres", function()
  it("prints BEGIN/COMMIT per revision and the non-transactional one outside any transaction", function()
    local dir, url = setup({ r_items(), r_concurrent(), r_more() })
    local r = run(dir, "upgrade head --sql")
    assert.equal(0, r.code, show(r))
    local lines, nbegin, ncommit = structure(r.out)
    -- aaa111 and ccc333 each in a transaction; bbb222's version update in
    -- one of its own, after its op ran outside
    assert.equal(nbegin, ncommit)
    assert.is_true(nbegin >= 2, r.out)
    assert.is_true(in_tx_at(lines, 'CREATE TABLE "items"'), r.out)
    assert.is_true(in_tx_at(lines, "VALUES ('aaa111')"), r.out)
    assert.is_false(in_tx_at(lines, 'CREATE INDEX CONCURRENTLY "ix_items_code"'), r.out)
    assert.is_true(in_tx_at(lines, "SET version_num = 'bbb222'"), r.out)
    assert.is_true(in_tx_at(lines, 'ADD COLUMN "note"'), r.out)
    assert.is_true(in_tx_at(lines, "SET version_num = 'ccc333'"), r.out)
    -- each transactional revision's DDL and version row commit together:
    -- a COMMIT separates aaa111's table from ccc333's column
    local a = r.out:find('CREATE TABLE "items"', 1, true)
    local b = r.out:find('CREATE INDEX CONCURRENTLY', 1, true)
    local c = r.out:find('ADD COLUMN "note"', 1, true)
    assert.is_truthy(r.out:sub(a, b):find("\nCOMMIT;\n", 1, true))
    assert.is_truthy(r.out:sub(b, c):find("\nBEGIN;\n", 1, true))
    -- nothing touched a database: the URL's database is still empty
    assert.same({}, h.tables(url))
  end)

  it("piped into psql -v ON_ERROR_STOP=1 yields the same schema, indexes and versions as online", function()
    local revs = { r_items(), r_concurrent(), r_more() }
    local online_dir, online = setup(revs)
    local offline_dir, offline = setup(revs)

    local r = run(online_dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    r = run(offline_dir, "upgrade head --sql")
    assert.equal(0, r.code, show(r))
    local rc, out = pipe_psql(offline, r.out)
    assert.equal(0, rc, out .. "\nscript:\n" .. r.out)

    local want, got = snapshot(online), snapshot(offline)
    assert.same({ "ccc333" }, want.versions)
    assert.same({}, want.invalid)
    assert.is_truthy(table.concat(want.indexes, "\n"):find("ix_items_code", 1, true))
    assert.same(want, got)

    -- and the database the script built is one lmigrate accepts
    r = run(offline_dir, "current")
    assert.equal(0, r.code, show(r))
    assert.matches("ccc333", r.out)
    r = run(offline_dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    assert.matches("Nothing to upgrade", r.out, 1, true)

    -- downgrade scripts too: ccc333 -> aaa111 (DROP INDEX CONCURRENTLY
    -- outside any transaction)
    r = run(online_dir, "downgrade aaa111")
    assert.equal(0, r.code, show(r))
    r = run(offline_dir, "downgrade ccc333:aaa111 --sql")
    assert.equal(0, r.code, show(r))
    local lines = structure(r.out)
    assert.is_false(in_tx_at(lines, 'DROP INDEX CONCURRENTLY "ix_items_code"'), r.out)
    rc, out = pipe_psql(offline, r.out)
    assert.equal(0, rc, out .. "\nscript:\n" .. r.out)
    want, got = snapshot(online), snapshot(offline)
    assert.same({ "aaa111" }, want.versions)
    assert.same(want, got)
  end)

  it("transaction_per_migration = false: one BEGIN/COMMIT pair around the whole script", function()
    local revs = { r_items(), r_more("aaa111") }
    local cfg = "transaction_per_migration = false,"
    local online_dir, online = setup(revs, cfg)
    local offline_dir, offline = setup(revs, cfg)
    local r = run(offline_dir, "upgrade head --sql")
    assert.equal(0, r.code, show(r))
    local lines, nbegin, ncommit = structure(r.out)
    assert.equal(1, nbegin, r.out)
    assert.equal(1, ncommit, r.out)
    for _, l in ipairs(lines) do
      -- only comments and blank lines outside the transaction (the
      -- bookkeeping tables may be created before it, idempotently)
      if not l.in_tx and l.line:match("%S") and not l.line:match("^%-%-") then
        assert.is_truthy(l.line:find("IF NOT EXISTS", 1, true) or
          not l.line:match("^[A-Z]"),
          "statement outside the transaction: " .. l.line .. "\n" .. r.out)
      end
    end
    assert.is_true(in_tx_at(lines, 'CREATE TABLE "items"'), r.out)
    assert.is_true(in_tx_at(lines, "SET version_num = 'ccc333'"), r.out)
    local rc, out = pipe_psql(offline, r.out)
    assert.equal(0, rc, out .. "\nscript:\n" .. r.out)

    r = run(online_dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    local want = snapshot(online)
    assert.same({ "ccc333" }, want.versions)
    assert.same(want, snapshot(offline))
  end)

  it("a transactional revision with concurrently = true fails in --sql mode too", function()
    local dir = setup({ r_items(), rev { id = "bbb222", down = "aaa111", slug = "index",
      up = 'op.create_index("ix_items_code", "items", {"code"}, { concurrently = true })',
      dn = 'op.drop_index("ix_items_code", { concurrently = true })' } })
    local r = run(dir, "upgrade head --sql")
    assert.equal(1, r.code, show(r))
    assert.matches("create_index", r.err)
    assert.matches("transactional = false", r.err, 1, true)
    -- no partial script: not even aaa111, which rendered fine
    assert.equal("", r.out)
  end)

  it("a non-transactional revision under transaction_per_migration = false: a clear error naming the conflict", function()
    -- One transaction around everything cannot hold CREATE INDEX
    -- CONCURRENTLY; the user set transactional = false already, so the
    -- error must point at transaction_per_migration instead.
    for _, args in ipairs({ "upgrade head --sql", "upgrade head" }) do
      local dir, url = setup({ r_items(), r_concurrent() }, "transaction_per_migration = false,")
      local r = run(dir, args)
      assert.equal(1, r.code, show(r))
      assert.matches("transaction_per_migration", r.err, 1, true)
      if not args:find("--sql", 1, true) then
        assert.same({}, h.versions(url))
        assert.has_no_table(url, "items")
      end
    end
  end)
end)
end)
