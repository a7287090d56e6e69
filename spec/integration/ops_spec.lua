-- spec/integration/ops_spec.lua: every schema op through the CLI on both
-- backends, as a chain of revisions applied one step at a time (schema
-- and rows checked after each) and then reverted one step at a time
-- (checked again): alter_column, the constraint ops, drop_column of an
-- indexed column, add_column of a UNIQUE column, bulk_insert,
-- inline_literal, rename_table, batched alterations, and the PostgreSQL
-- comment/schema ops (errors on SQLite).

local h = require "helpers"

-- A revision file: id, parent, upgrade and downgrade bodies (Lua using op).
local function rev(id, down, up, dn)
  return { file = id .. "_ops.lua", text = table.concat({
    "return {",
    "  revision = " .. ("%q"):format(id) .. ",",
    "  down_revision = " .. (down and ("%q"):format(down) or "nil") .. ",",
    "  upgrade = function(op)",
    up,
    "  end,",
    "  downgrade = function(op)",
    dn or "",
    "  end,",
    "}", "" }, "\n") }
end

local setup = h.setup

local function cli(dir, args)
  local r = h.run(args, { cwd = dir })
  return r
end

local function ok(dir, args)
  local r = cli(dir, args)
  assert(r.code == 0, ("lmigrate %s failed (%d):\n%s%s"):format(args, r.code, r.out, r.err))
  return r
end

-- Schema facts, the same shape on both backends.
local function is_pg(url) return (h.parse_db(url)) == "postgres" end

local function column(url, t, c)
  local rows
  if is_pg(url) then
    rows = h.query(url, ("SELECT is_nullable = 'NO', column_default FROM information_schema.columns "
      .. "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s")
      :format(h.literal(t), h.literal(c)))
    if not rows[1] then return nil end
    return { notnull = rows[1][1] == "t", default = rows[1][2] }
  end
  rows = h.query(url, ("SELECT \"notnull\", dflt_value FROM pragma_table_info(%s) WHERE name = %s")
    :format(h.literal(t), h.literal(c)))
  if not rows[1] then return nil end
  return { notnull = rows[1][1] == "1", default = rows[1][2] }
end

-- Names of the named constraints of table t.
local function constraints(url, t)
  local names = {}
  if is_pg(url) then
    for _, r in ipairs(h.query(url, ("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
      .. "AND contype <> 'n' ORDER BY 1"):format(h.literal(t)))) do
      names[#names + 1] = r[1]
    end
    return names
  end
  local sql = (h.query(url, ("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s")
    :format(h.literal(t)))[1] or {})[1] or ""
  for name in sql:gmatch('CONSTRAINT%s+"([^"]+)"') do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

local function users(url, col)
  local out = {}
  for _, r in ipairs(h.query(url, ("SELECT id, %s FROM users ORDER BY id"):format(col or "email"))) do
    out[#out + 1] = r[1] .. "=" .. r[2]
  end
  return table.concat(out, ",")
end

local BASE = [[
    op.create_table("orgs", { "id", "integer", primary_key = true }, { "name", "text" })
    op.create_table("users", { "id", "integer", primary_key = true },
      { "email", "text" }, { "age", "integer" }, { "nick", "text" })
    op.create_index("ix_users_nick", "users", "nick")
    op.create_table("tags", { "name", "string(20)", nullable = false })
    op.bulk_insert("orgs", { { id = 1, name = "acme" }, { id = 2, name = "globex" } })
    op.bulk_insert("users", { { 1, "a@x", 30, "al" }, { 2, "b@x", 40, "bo" }, { 3, "c@x", 50 } },
      { columns = { "id", "email", "age", "nick" } })
    op.bulk_insert("tags", { { name = "red" }, { name = "blue" } })
]]

-- Each step: id, upgrade, downgrade, check_up(url), check_down(url).
local STEPS = {
  { "r02", [[
    op.alter_column("users", "email", { type = "string(200)", nullable = false,
      server_default = "'none'" })
  ]], [[
    op.alter_column("users", "email", { type = "text", nullable = true, server_default = false })
  ]], function(url)
    local c = column(url, "users", "email")
    assert.is_true(c.notnull)
    assert.matches("none", c.default, 1, true)
    assert.equal("1=a@x,2=b@x,3=c@x", users(url))
  end, function(url)
    local c = column(url, "users", "email")
    assert.is_false(c.notnull)
    assert.equal(h.NULL, c.default)
    assert.equal("1=a@x,2=b@x,3=c@x", users(url))
  end },

  { "r03", [[ op.alter_column("users", "email", { new_name = "mail" }) ]],
    [[ op.alter_column("users", "mail", { new_name = "email" }) ]],
    function(url)
      assert.has_column(url, "users", "mail")
      assert.has_no_column(url, "users", "email")
      assert.equal("1=a@x,2=b@x,3=c@x", users(url, "mail"))
    end, function(url)
      assert.has_column(url, "users", "email")
      assert.has_no_column(url, "users", "mail")
    end },

  { "r04", [[
    op.add_column("users", { "org_id", "integer" })
    op.execute("UPDATE users SET org_id = 1")
    op.create_foreign_key("fk_users_org", "users", "orgs", { "org_id" }, { "id" },
      { on_delete = "cascade" })
  ]], [[
    op.drop_constraint("fk_users_org", "users", { type_ = "foreignkey" })
    op.drop_column("users", "org_id")
  ]], function(url)
    assert.is_true(has(constraints(url, "users"), "fk_users_org"))
    assert.equal("1=1,2=1,3=1", users(url, "org_id"))
  end, function(url)
    assert.is_false(has(constraints(url, "users"), "fk_users_org"))
    assert.has_no_column(url, "users", "org_id")
  end },

  { "r05", [[ op.create_unique_constraint("uq_users_mail", "users", { "mail" }) ]],
    [[ op.drop_constraint("uq_users_mail", "users", { type_ = "unique" }) ]],
    function(url)
      assert.is_true(has(constraints(url, "users"), "uq_users_mail"))
      assert.has_error(function()
        h.query(url, "INSERT INTO users (id, mail) VALUES (9, 'a@x')")
      end)
    end, function(url)
      assert.is_false(has(constraints(url, "users"), "uq_users_mail"))
    end },

  { "r06", [[ op.create_check_constraint("ck_users_age", "users", "age >= 0") ]],
    [[ op.drop_constraint("ck_users_age", "users") ]],
    function(url)
      assert.is_true(has(constraints(url, "users"), "ck_users_age"))
      assert.has_error(function()
        h.query(url, "UPDATE users SET age = -1 WHERE id = 1")
      end)
    end, function(url)
      assert.is_false(has(constraints(url, "users"), "ck_users_age"))
    end },

  { "r07", [[ op.create_primary_key("pk_tags", "tags", { "name" }) ]],
    [[ op.drop_constraint("pk_tags", "tags", { type_ = "primary" }) ]],
    function(url)
      assert.is_true(has(constraints(url, "tags"), "pk_tags"))
      assert.equal(2, #h.query(url, "SELECT name FROM tags"))
    end, function(url)
      assert.is_false(has(constraints(url, "tags"), "pk_tags"))
      assert.equal(2, #h.query(url, "SELECT name FROM tags"))
    end },

  -- an indexed column: SQLite's plain DROP COLUMN refuses, the rebuild does it
  { "r08", [[ op.drop_column("users", "nick") ]], [[
    op.add_column("users", { "nick", "text" })
    op.create_index("ix_users_nick", "users", "nick")
  ]], function(url)
    assert.has_no_column(url, "users", "nick")
    assert.has_no_index(url, "ix_users_nick")
    assert.equal("1=a@x,2=b@x,3=c@x", users(url, "mail"))
  end, function(url)
    assert.has_column(url, "users", "nick")
    assert.has_index(url, "ix_users_nick")
  end },

  -- a UNIQUE column: SQLite's ADD COLUMN cannot, the rebuild can
  { "r09", [[ op.add_column("users", { "code", "string(10)", unique = true }) ]],
    [[ op.drop_column("users", "code") ]],
    function(url)
      assert.has_column(url, "users", "code")
      assert.equal(3, #h.query(url, "SELECT id FROM users"))
    end, function(url)
      assert.has_no_column(url, "users", "code")
    end },

  { "r10", [[
    local rows = {}
    for i = 1, 5000 do rows[i] = { id = 100 + i, name = "org " .. i } end
    assert(op.bulk_insert("orgs", rows) == 5000)
  ]], [[ op.execute("DELETE FROM orgs WHERE id > $1", { 100 }) ]],
    function(url)
      assert.equal("5002", h.query(url, "SELECT COUNT(*) FROM orgs")[1][1])
    end, function(url)
      assert.equal("2", h.query(url, "SELECT COUNT(*) FROM orgs")[1][1])
    end },

  { "r11", [[
    op.execute("UPDATE orgs SET name = " .. op.inline_literal("it's") .. " WHERE id = 1")
  ]], [[
    op.execute("UPDATE orgs SET name = " .. op.inline_literal("acme") .. " WHERE id = 1")
  ]], function(url)
    assert.equal("it's", h.query(url, "SELECT name FROM orgs WHERE id = 1")[1][1])
  end, function(url)
    assert.equal("acme", h.query(url, "SELECT name FROM orgs WHERE id = 1")[1][1])
  end },

  { "r12", [[ op.rename_table("tags", "labels") ]], [[ op.rename_table("labels", "tags") ]],
    function(url)
      assert.has_table(url, "labels")
      assert.has_no_table(url, "tags")
    end, function(url)
      assert.has_table(url, "tags")
      assert.has_no_table(url, "labels")
    end },

  -- several alterations of one table: one rebuild on SQLite
  { "r13", [[
    op.alter_column("users", "age", { nullable = false })
    op.alter_column("users", "age", { server_default = "18" })
    op.create_check_constraint("ck_users_adult", "users", "age >= 18")
  ]], [[
    op.drop_constraint("ck_users_adult", "users")
    op.alter_column("users", "age", { nullable = true, server_default = false })
  ]], function(url)
    local c = column(url, "users", "age")
    assert.is_true(c.notnull)
    assert.matches("18", c.default, 1, true)
    assert.is_true(has(constraints(url, "users"), "ck_users_adult"))
    assert.is_true(has(constraints(url, "users"), "ck_users_age"))
    assert.equal("1=30,2=40,3=50", users(url, "age"))
  end, function(url)
    local c = column(url, "users", "age")
    assert.is_false(c.notnull)
    assert.is_false(has(constraints(url, "users"), "ck_users_adult"))
    assert.is_true(has(constraints(url, "users"), "ck_users_age"))
  end },

  -- PostgreSQL only: comments and schemas
  { "r14", [[
    if op.dialect == "postgresql" then
      op.create_schema("app", { if_not_exists = true })
      op.create_table_comment("users", "People")
      op.alter_column("users", "mail", { comment = "Where to write" })
    end
  ]], [[
    if op.dialect == "postgresql" then
      op.alter_column("users", "mail", { comment = false })
      op.drop_table_comment("users")
      op.drop_schema("app")
    end
  ]], function(url)
    if not is_pg(url) then return end
    assert.equal("People", h.query(url, "SELECT obj_description('users'::regclass, 'pg_class')")[1][1])
    assert.equal("Where to write", h.query(url,
      "SELECT col_description('users'::regclass, 2)")[1][1])
    assert.equal(1, #h.query(url, "SELECT 1 FROM pg_namespace WHERE nspname = 'app'"))
  end, function(url)
    if not is_pg(url) then return end
    assert.equal(h.NULL, h.query(url, "SELECT obj_description('users'::regclass, 'pg_class')")[1][1])
    assert.equal(0, #h.query(url, "SELECT 1 FROM pg_namespace WHERE nspname = 'app'"))
  end },
}

for _, backend in ipairs(h.each_backend()) do
  describe("schema ops on " .. backend .. " #integration", function()
    it("round-trip: upgrade step by step, then downgrade step by step", function()
      local revs = { rev("r01", nil, BASE, [[
        op.drop_table("tags")
        op.drop_table("users")
        op.drop_table("orgs")
      ]]) }
      local prev = "r01"
      for _, s in ipairs(STEPS) do
        revs[#revs + 1] = rev(s[1], prev, s[2], s[3])
        prev = s[1]
      end
      local dir, url = setup(backend, revs)
      ok(dir, "upgrade +1")
      assert.equal("1=a@x,2=b@x,3=c@x", users(url))
      for _, s in ipairs(STEPS) do
        ok(dir, "upgrade +1")
        assert.version_is(url, s[1])
        s[4](url)
      end
      for i = #STEPS, 1, -1 do
        ok(dir, "downgrade -1")
        STEPS[i][5](url)
      end
      ok(dir, "downgrade base")
      assert.has_no_table(url, "users")
    end)

    it("a failing queued op names its own line, and nothing is applied", function()
      local dir, url = setup(backend, { rev("r01", nil, BASE .. [[
    op.alter_column("nope", "x", { nullable = false })
    op.create_index("ix_orgs_name", "orgs", "name")
  ]]) })
      local r = cli(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("versions/r01_ops.lua:14: alter_column \"nope\"", r.err, 1, true)
      assert.has_no_table(url, "users")
    end)

    it("a misspelled column is an error, not a string constant", function()
      for _, bad in ipairs({
        [[ op.create_index("ix_typo", "users", "emial", { unique = true }) ]],
        [[ op.create_index("ix_typo", "users", { "nick", "emial" }) ]],
        [[ op.execute('UPDATE users SET nick = "zed" WHERE id = 1') ]],
      }) do
        local dir, url = setup(backend, { rev("r01", nil, BASE .. bad) })
        local r = cli(dir, "upgrade head")
        assert.equal(1, r.code, bad)
        assert.matches("versions/r01_ops.lua:14: ", r.err, 1, true)
        if is_pg(url) then
          assert.matches('column "%a+" does not exist', r.err)
        else
          assert.matches("no such column: %a+", r.err)
        end
        assert.has_no_table(url, "users")
      end
    end)

    it("identifiers over 63 bytes: PostgreSQL refuses them, SQLite keeps them whole", function()
      local long = string.rep("L", 64)
      local dir, url = setup(backend, { rev("r01", nil, ([[
    op.create_table(%q, { "id", "integer", primary_key = true })
    op.create_table(%q, { "id", "integer", primary_key = true })
    op.create_table("t63", { %q, "integer" })
    op.create_index(%q, "t63", %q)
      ]]):format(long .. "a", long .. "b", string.rep("c", 63), string.rep("i", 63),
                 string.rep("c", 63))) })
      local r = cli(dir, "upgrade head")
      if is_pg(url) then
        assert.equal(1, r.code)
        assert.matches(('versions/r01_ops.lua:5: create_table "%sa": identifier "%sa" ' ..
          'is 65 bytes long; PostgreSQL keeps only the first 63'):format(long, long), r.err, 1, true)
        assert.has_no_table(url, long .. "a")
        assert.has_no_table(url, "t63")
        for _, bad in ipairs({
          ('op.create_index("ix", "t", %q)'):format(long),
          ('op.add_column("t", { "c", "integer", references = %q })'):format("t." .. long),
          ('op.alter_column("t", "id", { new_name = %q })'):format(long),
          ('op.rename_table("t", %q)'):format(long),
          ('op.create_foreign_key("fk", "t", %q, { "id" }, { "id" })'):format(long),
          ('op.drop_table(%q)'):format(long),
        }) do
          dir = setup(backend, { rev("r01", nil, ([[
    op.create_table("t", { "id", "integer", primary_key = true })
    %s
          ]]):format(bad)) })
          r = cli(dir, "upgrade head")
          assert.equal(1, r.code, bad)
          assert.matches("versions/r01_ops.lua:6: ", r.err, 1, true)
          assert.matches("is 64 bytes long; PostgreSQL keeps only the first 63", r.err, 1, true)
        end
      else
        assert.equal(0, r.code, r.err)
        assert.has_table(url, long .. "a")
        assert.has_table(url, long .. "b")
        assert.has_index(url, string.rep("i", 63))
      end
    end)

    if backend == "sqlite" then
      it("a rebuild of a table whose stored schema relies on \"strings\" fails and keeps it", function()
        local dir, url = setup(backend, { rev("r01", nil, [[
    op.alter_column("legacy", "note", { nullable = false })
  ]]) })
        -- written with SQLite's legacy double-quoted-string reading on
        h.sqlite_exec(url, [=[
.dbconfig dqs_ddl on
.dbconfig dqs_dml on
CREATE TABLE legacy (id INTEGER PRIMARY KEY, status TEXT DEFAULT "new" CHECK (status IN ("new", "done")), note TEXT);
INSERT INTO legacy (id, note) VALUES (1, 'a');
INSERT INTO legacy VALUES (2, 'done', 'b');
]=])
        local schema = h.query(url, "SELECT sql FROM sqlite_master WHERE name = 'legacy'")[1][1]
        local r = cli(dir, "upgrade head")
        assert.equal(1, r.code)
        assert.matches('versions/r01_ops.lua:5: alter_column "legacy": rebuilding table "legacy": ' ..
          'no such column: new (in "CREATE TABLE', r.err, 1, true)
        assert.same({ { "1", "new", "a" }, { "2", "done", "b" } },
          h.query(url, "SELECT id, status, note FROM legacy ORDER BY id"))
        assert.equal(schema, h.query(url, "SELECT sql FROM sqlite_master WHERE name = 'legacy'")[1][1])
        assert.version_is(url, {})
      end)

      it("comments and schemas are errors that say why", function()
        local dir = setup(backend, { rev("r01", nil, [[ op.create_schema("app") ]]) })
        local r = cli(dir, "upgrade head")
        assert.equal(1, r.code)
        assert.matches("versions/r01_ops.lua:5: create_schema \"app\": SQLite has no schemas",
          r.err, 1, true)
      end)
    end
  end)
end
