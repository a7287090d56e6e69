-- spec/integration/online_safety_spec.lua: the runtime side of online
-- safety (issue 12): the NOT VALID / VALIDATE ops, SET NOT NULL over a
-- validated CHECK without a scan, the INVALID index a failed CONCURRENTLY
-- build leaves (named, and `validate` fails on the FAILED state), and
-- --sql through a data phase. The lock-hold guard and the blocker report
-- are in pg_locks_spec.lua (they need its background sessions).

local h = require "helpers"

local rev = h.rev

-- A fresh project; extra is Lua source added to the config table.
local function setup(backend, revs, extra)
  return h.setup(backend, revs, { extra = extra })
end

local run = h.run_in
local show = h.show
local history = h.history

-- aaa111: items (id, n) with rows 1..3, one of them (n = -1) violating
-- CHECK (n > 0); parent (id 1) for foreign keys; items.pid = 7 has no
-- parent row.
local function items()
  return rev { id = "aaa111", slug = "items",
    up = 'op.create_table("parent", {"id", "integer", primary_key = true}) ' ..
         'op.create_table("items", {"id", "integer", primary_key = true}, ' ..
         '{"n", "integer"}, {"pid", "integer"}) ' ..
         'op.execute("INSERT INTO parent (id) VALUES (1)") ' ..
         'op.execute("INSERT INTO items (id, n, pid) VALUES (1, 5, 1), (2, -1, 1), (3, 2, 7)")',
    dn = 'op.drop_table("items") op.drop_table("parent")' }
end

for _, backend in ipairs(h.each_backend()) do
  describe("online-safety ops [" .. backend .. "] #integration #" .. backend, function()
    if backend == "postgres" then
      it("not_valid adds CHECK and FOREIGN KEY without checking existing rows; validate_constraint checks them", function()
        local dir, url = setup(backend, { items(), rev { id = "bbb222", down = "aaa111",
          slug = "nv",
          up = 'op.create_check_constraint("ck_n", "items", "n > 0", { not_valid = true }) ' ..
               'op.create_foreign_key("fk_p", "items", "parent", {"pid"}, {"id"}, ' ..
               '{ not_valid = true })',
          dn = 'op.drop_constraint("fk_p", "items") op.drop_constraint("ck_n", "items")' },
          rev { id = "ccc333", down = "bbb222", slug = "val",
          up = 'op.validate_constraint("items", "ck_n")' } })
        local r = run(dir, "upgrade bbb222")
        assert.equal(0, r.code, show(r))
        assert.same({ { "ck_n", "f" }, { "fk_p", "f" } }, h.query(url,
          "SELECT conname, convalidated FROM pg_catalog.pg_constraint " ..
          "WHERE conrelid = 'items'::regclass AND contype IN ('c', 'f') ORDER BY conname"))
        -- new rows are checked at once
        assert.has_error(function()
          h.query(url, "INSERT INTO items (id, n, pid) VALUES (9, -5, 1)")
        end)
        -- validating finds the old violating row: the revision fails
        r = run(dir, "upgrade head")
        assert.equal(1, r.code, show(r))
        assert.matches('validate_constraint "items"', r.err, 1, true)
        assert.matches("ck_n", r.err, 1, true)
        assert.version_is(url, "bbb222")
        -- fixed, it validates
        h.query(url, "UPDATE items SET n = 1 WHERE n <= 0")
        r = run(dir, "upgrade head")
        assert.equal(0, r.code, show(r))
        assert.same({ { "t" } }, h.query(url, "SELECT convalidated FROM " ..
          "pg_catalog.pg_constraint WHERE conname = 'ck_n'"))
      end)

      it("--sql renders NOT VALID and VALIDATE CONSTRAINT", function()
        local dir = setup(backend, { items(), rev { id = "bbb222", down = "aaa111",
          up = 'op.create_check_constraint("ck_n", "items", "n > 0", { not_valid = true }) ' ..
               'op.create_foreign_key("fk_p", "items", "parent", {"pid"}, {"id"}, ' ..
               '{ not_valid = true, on_delete = "cascade" }) ' ..
               'op.validate_constraint("items", "ck_n")' } })
        local r = run(dir, "upgrade --sql aaa111:bbb222")
        assert.equal(0, r.code, show(r))
        assert.matches('ALTER TABLE "items" ADD CONSTRAINT "ck_n" CHECK (n > 0) NOT VALID;',
          r.out, 1, true)
        assert.matches('ALTER TABLE "items" ADD CONSTRAINT "fk_p" FOREIGN KEY ("pid") ' ..
          'REFERENCES "parent" ("id") ON DELETE CASCADE NOT VALID;', r.out, 1, true)
        assert.matches('ALTER TABLE "items" VALIDATE CONSTRAINT "ck_n";', r.out, 1, true)
      end)

      it("SET NOT NULL over a validated CHECK (col IS NOT NULL) does not scan the table", function()
        -- pg_stat_user_tables.seq_scan counts the scan SET NOT NULL does
        -- to verify the rows; PostgreSQL 12+ skips it when a validated
        -- CHECK proves the column has no NULLs.
        local function seq_scans(url)
          return tonumber(h.query(url, "SELECT pg_catalog.pg_stat_force_next_flush(); " ..
            "SELECT seq_scan FROM pg_catalog.pg_stat_user_tables WHERE relname = 'items'")[1][1])
        end
        local function case(with_check)
          local up = with_check
            and 'op.execute("UPDATE items SET n = 0 WHERE n IS NULL") ' ..
                'op.create_check_constraint("ck_nn", "items", "n IS NOT NULL", { not_valid = true }) '
            or ""
          local dir, url = setup(backend, { items(),
            rev { id = "bbb222", down = "aaa111", slug = "check", up = up },
            rev { id = "ccc333", down = "bbb222", slug = "validate",
              up = with_check and 'op.validate_constraint("items", "ck_nn")' or "" },
            rev { id = "ddd444", down = "ccc333", slug = "notnull",
              up = 'op.alter_column("items", "n", { nullable = false })' } })
          assert.equal(0, run(dir, "upgrade ccc333").code)
          local before = seq_scans(url)
          local r = run(dir, "upgrade head")
          assert.equal(0, r.code, show(r))
          assert.same({ { "NO" } }, h.query(url, "SELECT is_nullable FROM " ..
            "information_schema.columns WHERE table_name = 'items' AND column_name = 'n'"))
          return seq_scans(url) - before
        end
        -- without the CHECK the server scans (the measure can see a scan) ...
        assert.is_true(case(false) >= 1, "SET NOT NULL without a CHECK should scan")
        -- ... with the validated CHECK it does not
        assert.equal(0, case(true))
      end)

      it("a failed CREATE INDEX CONCURRENTLY names the INVALID index it left; validate reports FAILED (exit 1)", function()
        local dir, url = setup(backend, { items(), rev { id = "bbb222", down = "aaa111",
          slug = "uix", fields = "transactional = false,",
          up = 'op.execute("UPDATE items SET n = 5") ' ..
               'op.create_index("ix_items_n", "items", {"n"}, { unique = true, concurrently = true })',
          dn = 'op.drop_index("ix_items_n", { concurrently = true, if_exists = true })' } })
        assert.equal(0, run(dir, "upgrade aaa111").code)
        local r = run(dir, "upgrade head")
        assert.equal(1, r.code, show(r))
        assert.matches("INVALID index left by a failed CREATE INDEX CONCURRENTLY: " ..
          "ix_items_n on items", r.err, 1, true)
        assert.same({ { "f" } }, h.query(url, "SELECT i.indisvalid FROM pg_catalog.pg_index i " ..
          "WHERE i.indexrelid = 'ix_items_n'::regclass"))
        r = run(dir, "validate")
        assert.equal(1, r.code, show(r))
        assert.matches("revision bbb222 %(versions/bbb222_uix.lua%) is FAILED since", r.err)
        assert.matches("ix_items_n on items", r.err, 1, true)
      end)
    else
      it("not_valid is accepted and ignored (the rebuild checks every row); validate_constraint does nothing", function()
        local dir, url = setup(backend, { items(), rev { id = "bbb222", down = "aaa111",
          slug = "nv",
          up = 'op.execute("UPDATE items SET n = 1 WHERE n <= 0") ' ..
               'op.create_check_constraint("ck_n", "items", "n > 0", { not_valid = true }) ' ..
               'op.validate_constraint("items", "ck_n")' },
          rev { id = "ccc333", down = "bbb222", slug = "bad",
          up = 'op.execute("UPDATE items SET n = -1 WHERE id = 1") ' ..
               'op.create_check_constraint("ck_n2", "items", "n > 0", { not_valid = true })' } })
        local r = run(dir, "upgrade bbb222")
        assert.equal(0, r.code, show(r))
        assert.has_error(function()
          h.query(url, "INSERT INTO items (id, n, pid) VALUES (9, -5, 1)")
        end)
        -- SQLite has no NOT VALID: an existing violating row fails the add
        r = run(dir, "upgrade head")
        assert.equal(1, r.code, show(r))
        assert.matches("CHECK constraint failed", r.err, 1, true)
        assert.version_is(url, "bbb222")
      end)
    end

    it("max_lock_hold is a number of seconds (config), like --max-lock-hold", function()
      local dir = setup(backend, { items() }, 'max_lock_hold = "soon",')
      local r = run(dir, "heads")
      assert.equal(1, r.code, show(r))
      assert.matches("'max_lock_hold' must be a number of seconds from 0 to 86400", r.err, 1, true)
      dir = setup(backend, { items() }, "max_lock_hold = 0,")
      r = run(dir, "--max-lock-hold 2 upgrade head")
      assert.equal(0, r.code, show(r))
    end)

    it("validate_constraint checks its arguments", function()
      local dir = setup(backend, { items(), rev { id = "bbb222", down = "aaa111",
        up = 'op.validate_constraint("items")' } })
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code, show(r))
      assert.matches("versions/bbb222_rev.lua:5:", r.err, 1, true)
      assert.matches("bad argument #2 to 'validate_constraint'", r.err, 1, true)
    end)
  end)
end

for _, backend in ipairs(h.each_backend()) do
  describe("--sql through a data phase [" .. backend .. "] #integration #" .. backend, function()
    -- bbb222: column b, backfilled by the set form; ccc333: column c,
    -- backfilled by the fn form; ddd444: a plain schema change after.
    local function revs()
      return { items(),
        rev { id = "bbb222", down = "aaa111", slug = "set",
          up = 'op.add_column("items", {"b", "text"})',
          fields = 'data = function(op) op.backfill{ table = "items", key = "id", ' ..
                   'set = "b = \'s\' || id", batch_size = 2 } end,' },
        rev { id = "ccc333", down = "bbb222", slug = "fn",
          up = 'op.add_column("items", {"c", "text"})',
          fields = 'data = function(op) op.backfill{ table = "items", key = "id", ' ..
                   'columns = { "id" }, fn = function(row) return { c = "f" .. row.id } end } end,' },
        rev { id = "ddd444", down = "ccc333", slug = "after",
          up = 'op.add_column("items", {"d", "text"})' } }
    end

    it("renders the whole range: the set form as a batched loop, the fn form as a stop point naming the command", function()
      local dir, url = setup(backend, revs())
      assert.equal(0, run(dir, "upgrade aaa111").code)
      local r = run(dir, "upgrade --sql aaa111:head")
      assert.equal(0, r.code, show(r))
      local stop = r.out:find("lmigrate: STOP POINT", 1, true)
      assert.is_truthy(stop, r.out)
      assert.matches("--     lmigrate upgrade ccc333\n", r.out, 1, true)
      assert.matches("runs op.backfill on \"items\"", r.out, 1, true)
      if backend == "postgres" then
        assert.matches('CREATE OR REPLACE PROCEDURE "lmigrate_backfill_bbb222"()', r.out, 1, true)
        assert.matches("COMMIT;\n  END LOOP;", r.out, 1, true)
        assert.matches('CALL "lmigrate_backfill_bbb222"();', r.out, 1, true)
      else
        assert.matches("this database has no procedures", r.out, 1, true)
      end
      -- the database was not touched
      assert.version_is(url, "aaa111")

      -- Replayed as the DBA would: up to the first stop point, the
      -- command it names, then the rest, up to the next one, ...
      local script = r.out
      local parts = {}
      local pos = 1
      while true do
        local s, e = script:find("%-%- =+ lmigrate: STOP POINT =+\n.-\n%-%- =+\n", pos)
        if not s then break end
        local cmd = script:sub(s, e):match("%-%-     (lmigrate upgrade %w+)")
        parts[#parts + 1] = { sql = script:sub(pos, s - 1), cmd = cmd }
        pos = e + 1
      end
      parts[#parts + 1] = { sql = script:sub(pos) }
      for _, part in ipairs(parts) do
        local kind, target = h.parse_db(url)
        if kind == "postgres" then h.psql(target, part.sql) else h.sqlite_exec(target, part.sql) end
        if part.cmd then
          local rr = run(dir, (part.cmd:gsub("^lmigrate ", "")))
          assert.equal(0, rr.code, show(rr))
        end
      end
      assert.version_is(url, "ddd444")
      assert.same({ { "1", "s1", "f1" }, { "2", "s2", "f2" }, { "3", "s3", "f3" } },
        h.query(url, "SELECT id, b, c FROM items ORDER BY id"))
      assert.has_column(url, "items", "d")
    end)

    it("each_batch is a stop point; a downgrade through a data phase is still refused", function()
      local dir = setup(backend, { items(), rev { id = "bbb222", down = "aaa111", slug = "each",
        fields = 'data = function(op) op.each_batch{ table = "items", key = "id", ' ..
                 'fn = function(rows, op) end } end, data_downgrade = function(op) end,' } })
      local r = run(dir, "upgrade --sql base:head")
      assert.equal(0, r.code, show(r))
      assert.matches("runs op.each_batch on \"items\"", r.out, 1, true)
      assert.matches("--     lmigrate upgrade bbb222\n", r.out, 1, true)
      r = run(dir, "downgrade --sql bbb222:base")
      assert.equal(1, r.code, show(r))
      assert.matches("for a downgrade", r.err, 1, true)
    end)
  end)
end
