-- spec/integration/nontransactional_spec.lua: `transactional = false`
-- revisions (issue 3). CREATE/DROP INDEX CONCURRENTLY run there on
-- PostgreSQL and are refused in a transactional revision; a
-- non-transactional revision that fails part-way keeps what it did, is
-- recorded as failed, and blocks the next run until its file changes or
-- the operator stamps.

local h = require "helpers"

local rev = h.rev

-- A revision that creates table t_<id> and drops it on downgrade.
local function trev(id, down)
  return rev { id = id, down = down,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
end

-- aaa111: table items (id, code) with rows 1 'a', 2 'a', 3 'b' (code is
-- not unique, so a unique index on it fails).
local function items()
  return rev { id = "aaa111", slug = "items",
    up = 'op.create_table("items", {"id", "integer", primary_key = true}, ' ..
         '{"code", "string(10)"}) ' ..
         [[op.execute("INSERT INTO items (id, code) VALUES (1, 'a'), (2, 'a'), (3, 'b')")]],
    dn = 'op.drop_table("items")' }
end

local setup = h.setup
local run = h.run_in
local history = h.history

-- pg_index.indisvalid of a PostgreSQL index: "t", "f", or nil when absent.
local function pg_valid(url, name)
  local rows = h.query(url, "SELECT i.indisvalid FROM pg_catalog.pg_index i " ..
    "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE c.relname = " ..
    h.literal(name))
  return rows[1] and rows[1][1]
end

-- Run fn when backend is one h.each_backend() selects (all of them by
-- default; LMIGRATE_TEST_BACKENDS narrows the list, as for every spec).
local function only(backend, fn)
  for _, b in ipairs(h.each_backend()) do
    if b == backend then return fn() end
  end
end

local show = h.show

---------------------------------------------------------------------------
-- CONCURRENTLY (PostgreSQL)

only("postgres", function() describe("CONCURRENTLY index ops [postgres] #integration #postgres", function()
  it("create_index/drop_index concurrently = true work in a transactional = false revision", function()
    local dir, url = setup("postgres", { items(), rev { id = "bbb222", down = "aaa111",
      slug = "index", fields = "transactional = false,",
      up = 'op.create_index("ix_items_code", "items", {"code"}, { concurrently = true })',
      dn = 'op.drop_index("ix_items_code", { concurrently = true })' } })
    local r = run(dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.has_index(url, "ix_items_code")
    assert.equal("t", pg_valid(url, "ix_items_code"))
    assert.version_is(url, "bbb222")

    r = run(dir, "downgrade aaa111")
    assert.equal(0, r.code, show(r))
    assert.matches("Running downgrade bbb222 %-> aaa111", r.out)
    assert.has_no_index(url, "ix_items_code")
    assert.has_table(url, "items")
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up applied", "bbb222 down applied" },
      history(url))

    -- and up again: nothing of the first build got in the way
    r = run(dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    assert.equal("t", pg_valid(url, "ix_items_code"))
  end)

  it("create_index concurrently = true in a transactional revision: an error naming the fix, nothing left", function()
    local dir, url = setup("postgres", { items(), rev { id = "bbb222", down = "aaa111",
      slug = "index",
      up = 'op.create_table("extra", {"id", "integer"}) ' ..
           'op.create_index("ix_items_code", "items", {"code"}, { concurrently = true })',
      dn = 'op.drop_index("ix_items_code") op.drop_table("extra")' } })
    local r = run(dir, "upgrade head")
    assert.equal(1, r.code, show(r))
    assert.matches("create_index", r.err)
    assert.matches("transactional = false", r.err, 1, true)
    -- it started (the start line) but never finished (no duration line)
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.not_matches("aaa111 %-> bbb222[^\n]*\n  done in", r.out)
    assert.has_no_index(url, "ix_items_code")
    assert.has_no_table(url, "extra")
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    -- a transactional failure does not block the next run
    r = run(dir, "current")
    assert.equal(0, r.code, show(r))
    assert.not_matches("FAILED", r.out)
  end)

  it("drop_index concurrently = true in a transactional downgrade: an error naming the fix, index kept", function()
    local dir, url = setup("postgres", { items(), rev { id = "bbb222", down = "aaa111",
      slug = "index",
      up = 'op.create_index("ix_items_code", "items", {"code"})',
      dn = 'op.drop_table("items") op.drop_index("ix_items_code", { concurrently = true })' } })
    local r = run(dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    r = run(dir, "downgrade aaa111")
    assert.equal(1, r.code, show(r))
    assert.matches("drop_index", r.err)
    assert.matches("transactional = false", r.err, 1, true)
    assert.has_index(url, "ix_items_code")
    assert.has_table(url, "items")
    assert.version_is(url, "bbb222")
  end)

  it("a CONCURRENTLY build that fails leaves an INVALID index; the next run refuses and says so", function()
    local dir, url = setup("postgres", { items(), rev { id = "bbb222", down = "aaa111",
      slug = "unique", fields = "transactional = false,",
      up = 'op.create_index("ux_items_code", "items", {"code"}, ' ..
           '{ unique = true, concurrently = true })',
      dn = 'op.drop_index("ux_items_code", { concurrently = true })' },
      trev("ccc333", "bbb222") })
    local r = run(dir, "upgrade head")
    assert.equal(1, r.code, show(r))
    assert.matches("ux_items_code", r.err)
    assert.matches("NOT rolled back", r.err, 1, true)
    -- PostgreSQL keeps the half-built index, marked invalid
    assert.equal("f", pg_valid(url, "ux_items_code"))
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))

    r = run(dir, "current")
    assert.equal(0, r.code, show(r))
    assert.matches("bbb222 %(FAILED at [^)]*non%-transactional, may be partly applied%)", r.out)

    r = run(dir, "upgrade head")
    assert.equal(1, r.code, show(r))
    assert.matches("bbb222", r.err)
    assert.matches("INVALID index", r.err, 1, true)
    assert.matches("lmigrate stamp", r.err, 1, true)
    assert.matches("if_not_exists", r.err, 1, true)
    assert.matches("Nothing was run", r.err, 1, true)
    assert.equal("", r.out)
    assert.has_no_table(url, "t_ccc333")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))

    -- recover by hand: drop the invalid index, fix the data, stamp the
    -- revision the database is really at; the next run builds the index
    h.psql(url, 'DROP INDEX "ux_items_code"; UPDATE items SET code = \'c\' WHERE id = 2')
    r = run(dir, "stamp aaa111")
    assert.equal(0, r.code, show(r))
    r = run(dir, "current")
    assert.not_matches("FAILED", r.out)
    r = run(dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.equal("t", pg_valid(url, "ux_items_code"))
    assert.version_is(url, "ccc333")
  end)
end) end)

---------------------------------------------------------------------------
-- SQLite has no CONCURRENTLY: the option is accepted and ignored

only("sqlite", function() describe("concurrently on SQLite [sqlite] #integration #sqlite", function()
  it("is accepted and ignored, also in a transactional revision", function()
    local dir, url = setup("sqlite", { items(), rev { id = "bbb222", down = "aaa111",
      slug = "index",
      up = 'op.create_index("ix_items_code", "items", {"code"}, { concurrently = true })',
      dn = 'op.drop_index("ix_items_code", { concurrently = true })' } })
    local r = run(dir, "upgrade head")
    assert.equal(0, r.code, show(r))
    assert.has_index(url, "ix_items_code")
    r = run(dir, "downgrade aaa111")
    assert.equal(0, r.code, show(r))
    assert.has_no_index(url, "ix_items_code")
  end)
end) end)

---------------------------------------------------------------------------
-- a non-transactional revision that fails part-way (both backends)

for _, backend in ipairs(h.each_backend()) do
  describe("failed non-transactional revision [" .. backend .. "] #integration #" .. backend, function()
    -- bbb222 creates table half, then fails on a missing table; body
    -- replaces it (the "fixed" file).
    local function half(body)
      return rev { id = "bbb222", down = "aaa111", slug = "half",
        fields = "transactional = false,",
        up = body or ('op.create_table("half", {"id", "integer"}) ' ..
                      'op.execute("INSERT INTO no_such_table VALUES (1)")'),
        dn = 'op.drop_table("half")' }
    end

    local function project()
      return setup(backend, { trev("aaa111", nil), half(), trev("ccc333", "bbb222") })
    end

    -- Run upgrade head and check the failure and what it left.
    local function fail_once(dir, url)
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code, show(r))
      assert.matches("no_such_table", r.err)
      assert.matches("non-transactional revision bbb222", r.err, 1, true)
      assert.matches("NOT rolled back", r.err, 1, true)
      -- what ran before the failure stays: no rollback
      assert.has_table(url, "half")
      assert.has_table(url, "t_aaa111")
      assert.has_no_table(url, "t_ccc333")
      assert.version_is(url, "aaa111")
      assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    end

    it("keeps what it did, is recorded as failed, and `current` says so", function()
      local dir, url = project()
      fail_once(dir, url)
      local r = run(dir, "current")
      assert.equal(0, r.code, show(r))
      assert.matches("aaa111", r.out)
      assert.matches("bbb222 %(FAILED at %d%d%d%d%-%d%d%-%d%d [^)]*" ..
        "non%-transactional, may be partly applied%)", r.out)
    end)

    it("blocks the next upgrade and downgrade, which run nothing", function()
      local dir, url = project()
      fail_once(dir, url)
      for _, cmd in ipairs({ "upgrade head", "upgrade +1", "downgrade base" }) do
        local r = run(dir, cmd)
        assert.equal(1, r.code, show(r))
        assert.matches("non-transactional revision bbb222", r.err, 1, true)
        assert.matches("may be partly applied", r.err, 1, true)
        assert.matches("lmigrate stamp", r.err, 1, true)
        assert.matches("if_not_exists", r.err, 1, true)
        assert.matches("Nothing was run", r.err, 1, true)
        assert.not_matches("Running", r.out)
        assert.has_table(url, "half")
        assert.has_table(url, "t_aaa111")
        assert.has_no_table(url, "t_ccc333")
        assert.version_is(url, "aaa111")
        assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
      end
    end)

    it("runs again once its file changed (made idempotent)", function()
      local dir, url = project()
      fail_once(dir, url)
      local fixed = half('op.create_table("half", {"id", "integer"}, { if_not_exists = true }) ' ..
                         'op.execute("INSERT INTO half (id) VALUES (1)")')
      h.write(dir .. "/versions/" .. fixed.file, fixed.text)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, show(r))
      assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
      assert.matches("Running upgrade bbb222 %-> ccc333", r.out)
      assert.same({ { "1" } }, h.query(url, "SELECT id FROM half"))
      assert.has_table(url, "t_ccc333")
      assert.version_is(url, "ccc333")
      assert.same({ "aaa111 up applied", "bbb222 up failed", "bbb222 up applied",
                    "ccc333 up applied" }, history(url))
      r = run(dir, "current")
      assert.not_matches("FAILED", r.out)
    end)

    it("`lmigrate stamp` clears the block (the operator finished it by hand)", function()
      local dir, url = project()
      fail_once(dir, url)
      local r = run(dir, "stamp bbb222")
      assert.equal(0, r.code, show(r))
      assert.version_is(url, "bbb222")
      r = run(dir, "current")
      assert.equal(0, r.code, show(r))
      assert.not_matches("FAILED", r.out)
      r = run(dir, "upgrade head")
      assert.equal(0, r.code, show(r))
      -- bbb222 is not run again (its file is still broken); ccc333 is
      assert.not_matches("%-> bbb222", r.out)
      assert.matches("Running upgrade bbb222 %-> ccc333", r.out)
      assert.version_is(url, "ccc333")
      -- history: the failure, the stamp, then ccc333; bbb222 never ran
      -- again (stamp may also record the head it replaced)
      local hist = history(url)
      assert.same({ "aaa111 up applied", "bbb222 up failed" }, { hist[1], hist[2] })
      assert.equal("ccc333 up applied", hist[#hist])
      local stamped, reran = false, false
      for i = 3, #hist - 1 do
        assert.matches(" stamped$", hist[i])
        if hist[i] == "bbb222 up stamped" then stamped = true end
      end
      for _, row in ipairs(hist) do
        if row == "bbb222 up applied" then reran = true end
      end
      assert.is_true(stamped, table.concat(hist, "\n"))
      assert.is_false(reran, table.concat(hist, "\n"))
    end)

    it("a failed transactional revision leaves nothing and does not block", function()
      local dir, url = setup(backend, { trev("aaa111", nil), rev { id = "bbb222",
        down = "aaa111", slug = "half",
        up = 'op.create_table("half", {"id", "integer"}) ' ..
             'op.execute("INSERT INTO no_such_table VALUES (1)")',
        dn = 'op.drop_table("half")' } })
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code, show(r))
      assert.matches("rolled back", r.err)
      assert.has_no_table(url, "half")
      r = run(dir, "current")
      assert.not_matches("FAILED", r.out)
      r = run(dir, "upgrade head")
      assert.equal(1, r.code, show(r))
      assert.matches("no_such_table", r.err)
      assert.not_matches("Nothing was run", r.err, 1, true)
    end)
  end)
end
