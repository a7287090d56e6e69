-- spec/integration/backfill_spec.lua: op.backfill and op.each_batch in a
-- revision's data phase (issue 5), on every backend: set and fn forms,
-- a 200,000-row backfill killed with SIGKILL at random points and resumed
-- (every row right, the checkpoint matches, a trigger counts exactly one
-- update per row), Ctrl-C (exit 130, resumes), a concurrent writer, NULL /
-- unicode / binary round trips, and the clear errors (non-unique key,
-- backfill inside a transactional upgrade); on PostgreSQL, the array
-- literals the fn form binds (quotes, backslashes, braces, commas, "NULL",
-- "", NULL, newlines, bytea with zero bytes, arrays, composites, domains)
-- and text with a NUL byte.

local h = require "helpers"
local Q = h.quote

local ROWS = 200000

-- A revision file. r.up / r.data are Lua statements using op.
local function rev(r)
  local lines = {
    "return {",
    ("  revision = %q,"):format(r.id),
    "  down_revision = " .. (r.down and ("%q"):format(r.down) or "nil") .. ",",
    ("  message = %q,"):format(r.msg or ("rev " .. r.id)),
    "  upgrade = function(op) " .. (r.up or "") .. " end,",
  }
  if r.data then lines[#lines + 1] = "  data = function(op) " .. r.data .. " end," end
  lines[#lines + 1] = "  downgrade = function(op) end,"
  lines[#lines + 1] = "}"
  return { file = r.id .. "_rev.lua", text = table.concat(lines, "\n") .. "\n" }
end

local function setup(backend, revs)
  local dir = h.tmpdir()
  local url = h.db_url(backend, dir)
  h.project(dir, revs, { config =
    ("return { url = %q, script_location = \"versions\" }\n"):format(url) })
  return dir, url
end

local function run(dir, args)
  return h.run(args, { cwd = dir })
end

local function show(r)
  return ("%s\nexit %d\nstdout:\n%s\nstderr:\n%s"):format(r.cmd, r.code, r.out, r.err)
end

local function one(url, sql)
  local rows = h.query(url, sql)
  return rows[1] and rows[1][1]
end

-- SQL creating items(id, a, w, out, n) with n rows, and a trigger that adds
-- one to n every time an UPDATE sets out.
local function items_sql(backend, n)
  if backend == "postgres" then
    return ([[
CREATE TABLE items (id BIGINT PRIMARY KEY, a INTEGER NOT NULL, w INTEGER NOT NULL DEFAULT 0,
  out TEXT, n INTEGER NOT NULL DEFAULT 0);
INSERT INTO items (id, a) SELECT i, i * 7 FROM generate_series(1, %d) i;
CREATE FUNCTION items_bump() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN NEW.n := OLD.n + 1; RETURN NEW; END';
CREATE TRIGGER items_cnt BEFORE UPDATE OF out ON items FOR EACH ROW EXECUTE FUNCTION items_bump();
]]):format(n)
  end
  return ([[
CREATE TABLE items (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, w INTEGER NOT NULL DEFAULT 0,
  out TEXT, n INTEGER NOT NULL DEFAULT 0);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
  INSERT INTO items (id, a) SELECT i, i * 7 FROM s;
CREATE TRIGGER items_cnt AFTER UPDATE OF out ON items BEGIN
  UPDATE items SET n = n + 1 WHERE id = NEW.id; END;
]]):format(n)
end

-- The base revision creates items (through the database's own client, so
-- the spec's SQL is not limited by op.execute's one-statement rule).
local function base_rev()
  return rev { id = "r1", up = "" }
end

local function backfill_rev(data)
  return rev { id = "r2", down = "r1", msg = "backfill", data = data }
end

local SET_DATA = 'op.backfill{ table = "items", key = "id", ' ..
  [[set = "out = 'v' || a", batch_size = 500 }]]

-- Run the CLI in the background, send sig after delay seconds, wait;
-- returns its exit status and stderr.
local function run_and_signal(dir, sig, delay)
  local cmd = ("cd %s && { env -u LMIGRATE_URL -u DATABASE_URL XDG_CACHE_HOME=%s %s " ..
    "upgrade head >out.log 2>err.log & pid=$!; sleep %.3f; kill -%s $pid 2>/dev/null; " ..
    "wait $pid; echo $? >rc.txt; } 2>/dev/null"):format(Q(dir), Q(dir .. "/cache"), Q(h.bin()),
    delay, sig)
  os.execute(cmd)
  return tonumber(h.read(dir .. "/rc.txt")), h.read(dir .. "/err.log")
end

-- Start `upgrade head`, wait until the checkpoint shows committed rows
-- (polling the database, not a fixed delay: machines under load start slowly),
-- then send sig. Returns the exit status and stderr.
local function signal_mid_backfill(dir, url, sig)
  local cmd = ("cd %s && { { env -u LMIGRATE_URL -u DATABASE_URL XDG_CACHE_HOME=%s %s " ..
    "upgrade head >out.log 2>err.log & echo $! >pid.txt; wait $!; echo $? >rc.txt; } " ..
    "</dev/null >/dev/null 2>&1 & }"):format(Q(dir), Q(dir .. "/cache"), Q(h.bin()))
  os.execute(cmd)
  local deadline, done = os.time() + 120, 0
  while done == 0 and os.time() < deadline and not h.exists(dir .. "/rc.txt") do
    -- a read may meet the writer's lock (SQLite) or a missing table: retry
    local ok, n = pcall(one, url, "SELECT coalesce(max(rows_done), 0) FROM lmigrate_backfill")
    done = ok and tonumber(n) or 0
    if done == 0 then os.execute("sleep 0.05") end
  end
  local pid = h.read(dir .. "/pid.txt"):match("%d+")
  os.execute(("kill -%s %s 2>/dev/null"):format(sig, pid))
  while not h.exists(dir .. "/rc.txt") and os.time() < deadline do os.execute("sleep 0.05") end
  os.execute("sleep 0.1")
  return tonumber(h.read(dir .. "/rc.txt")), h.read(dir .. "/err.log")
end

local function check_all_done(url)
  assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE out IS NULL OR out <> 'v' || a"))
  assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE n <> 1"))
  assert.are.equal(tostring(ROWS), one(url, "SELECT count(*) FROM items"))
  local cp = h.query(url, "SELECT rows_done, done, last_key FROM lmigrate_backfill")
  assert.are.equal(1, #cp)
  assert.are.same({ tostring(ROWS), "1", h.NULL }, cp[1])
  assert.version_is(url, "r2")
end

local function create_items(url, backend, n)
  h.query(url, items_sql(backend, n))
end

for _, backend in ipairs(h.each_backend()) do
  describe("op.backfill on " .. backend, function()

    it("fills every row with the set form and the fn form, each_batch sees every row once", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(
        SET_DATA .. [[
          local n = op.backfill{ table = "items", key = "id", columns = { "a" },
            fn = function(r) if r.a % 2 == 0 then return { w = r.a + 1 } end end,
            batch_size = 300 }
          assert(n == 1500, "fn rows " .. n)
          local seen = 0
          op.each_batch{ table = "items", key = "id", batch_size = 400,
            fn = function(rows, bop)
              seen = seen + #rows
              bop.execute("UPDATE items SET a = a WHERE id = $1", { rows[1].id })
            end }
          assert(seen == 3000, "each_batch saw " .. seen)]]) })
      create_items(url, backend, 3000)
      local r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE out <> 'v' || a OR n <> 1"))
      assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE (a % 2 = 0 AND w <> a + 1) OR (a % 2 = 1 AND w <> 0)"))
      assert.are.equal("3", one(url, "SELECT count(*) FROM lmigrate_backfill WHERE done = 1"))
      assert.matches("backfill items: done, 3000 rows", r.err, 1, true)
      -- quiet: no progress
      local again = run(dir, "-q current")
      assert.are.equal(0, again.code, show(again))
    end)

    it("resumes a 200,000-row backfill killed with SIGKILL: every row updated exactly once", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(SET_DATA) })
      local r = run(dir, "upgrade r1")
      assert.are.equal(0, r.code, show(r))
      create_items(url, backend, ROWS)
      math.randomseed(os.time())
      local kills = 0
      for _ = 1, 5 do
        local code = run_and_signal(dir, "KILL", 0.15 + math.random() * 0.6)
        if code == 137 then kills = kills + 1 end
      end
      assert.is_true(kills >= 1, "the run was never killed mid-way")
      local mid = tonumber(one(url, "SELECT count(*) FROM items WHERE n = 1"))
      local cp = 0
      for _, t in ipairs(h.tables(url)) do
        if t == "lmigrate_backfill" then
          cp = tonumber(one(url, "SELECT rows_done FROM lmigrate_backfill") or "0")
        end
      end
      assert.are.equal(mid, cp)   -- the checkpoint matches the committed rows
      assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE n > 1"))
      r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      check_all_done(url)
      -- a finished backfill is not redone
      r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      check_all_done(url)
    end)

    it("stops on SIGINT with exit 130 and resumes from the checkpoint", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(
        'op.backfill{ table = "items", key = "id", ' ..
        [[set = "out = 'v' || a", batch_size = 500, sleep_ms = 5 }]]) })
      local r = run(dir, "upgrade r1")
      assert.are.equal(0, r.code, show(r))
      create_items(url, backend, ROWS)
      local code, err = signal_mid_backfill(dir, url, "INT")
      assert.are.equal(130, code, err)
      assert.matches("interrupted: %d+ rows done; run `lmigrate upgrade` again", err)
      local done = tonumber(one(url, "SELECT rows_done FROM lmigrate_backfill"))
      assert.is_true(done > 0 and done < ROWS, "rows done: " .. tostring(done))
      assert.are.equal(tostring(done), one(url, "SELECT count(*) FROM items WHERE n = 1"))
      r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      check_all_done(url)
    end)

    it("runs beside a concurrent writer without errors or lost writes", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(
        'op.backfill{ table = "items", key = "id", ' ..
        [[set = "out = 'v' || a", batch_size = 200 }
          op.backfill{ table = "items", key = "id", columns = { "a" }, batch_size = 200,
            fn = function(r) return { out = "v" .. r.a } end, name = "again" }]]) })
      local r = run(dir, "upgrade r1")
      assert.are.equal(0, r.code, show(r))
      create_items(url, backend, 20000)
      -- the writer: 3000 statements, each its own transaction
      local lines = {}
      for i = 1, 1500 do
        lines[#lines + 1] = ("UPDATE items SET w = w + 1 WHERE id = %d;"):format((i * 13) % 20000 + 1)
        lines[#lines + 1] = ("INSERT INTO items (id, a) VALUES (%d, 1);"):format(100000 + i)
      end
      h.write(dir .. "/writer.sql", table.concat(lines, "\n") .. "\n")
      local client
      if backend == "postgres" then
        client = ("psql -X -q -v ON_ERROR_STOP=1 -d %s -f writer.sql"):format(Q(url))
      else
        client = ("sqlite3 -bail -cmd '.timeout 20000' %s <writer.sql"):format(Q((url:gsub("^sqlite:", ""))))
      end
      local cmd = ("cd %s && { %s >writer.out 2>writer.err & wpid=$!; " ..
        "env -u LMIGRATE_URL -u DATABASE_URL XDG_CACHE_HOME=%s %s upgrade head >out.log 2>err.log; " ..
        "echo $? >rc.txt; wait $wpid; echo $? >wrc.txt; }"):format(Q(dir), client,
        Q(dir .. "/cache"), Q(h.bin()))
      os.execute(cmd)
      assert.are.equal("0", (h.read(dir .. "/rc.txt"):gsub("%s", "")), h.read(dir .. "/err.log"))
      assert.are.equal("0", (h.read(dir .. "/wrc.txt"):gsub("%s", "")), h.read(dir .. "/writer.err"))
      assert.are.equal("1500", one(url, "SELECT sum(w) FROM items"))
      assert.are.equal("1500", one(url, "SELECT count(*) FROM items WHERE id > 100000"))
      assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE id <= 20000 AND (out <> 'v' || a OR n <> 2)"))
    end)

    it("round-trips NULLs, unicode and binary values through fn", function()
      local blob = backend == "postgres" and "BYTEA" or "BLOB"
      local hex = backend == "postgres" and "encode(%s, 'hex')" or "CASE WHEN b IS NULL THEN NULL ELSE lower(hex(%s)) END"
      local create = ("CREATE TABLE vals (id INTEGER PRIMARY KEY, src %s, t TEXT, b %s); " ..
        "INSERT INTO vals (id, src, t, b) VALUES (1, NULL, 'orig', %s), (2, NULL, 'orig', %s), " ..
        "(3, NULL, 'orig', %s), (4, NULL, 'orig', %s), (5, %s, 'orig', NULL)"):format(blob, blob,
        backend == "postgres" and "'\\x00'::bytea" or "X'00'",
        backend == "postgres" and "'\\x00'::bytea" or "X'00'",
        backend == "postgres" and "'\\x00'::bytea" or "X'00'",
        backend == "postgres" and "'\\x00'::bytea" or "X'00'",
        backend == "postgres" and "'\\x00ff10fe'::bytea" or "X'00FF10FE'")
      local dir, url = setup(backend, { base_rev(), backfill_rev([[
        local n = op.backfill{ table = "vals", key = "id", columns = { "src" },
          fn = function(r)
            if r.id == 1 then return { t = op.null, b = op.null } end
            if r.id == 2 then return { t = "héllo ✓ 日本 \u{1F600}", b = "\0\1\2\255\254" } end
            if r.id == 3 then return { t = "", b = "" } end
            if r.id == 5 then return { b = r.src, t = #r.src .. ":" .. r.src:byte(2) } end
          end }
        assert(n == 4, "rows " .. n)]]) })
      h.query(url, create)
      local r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      local rows = h.query(url, ("SELECT id, t, %s FROM vals ORDER BY id"):format(hex:format("b")))
      assert.are.same({
        { "1", h.NULL, h.NULL },
        { "2", "héllo ✓ 日本 \u{1F600}", "000102fffe" },
        { "3", "", "" },
        { "4", "orig", "00" },
        { "5", "4:255", "00ff10fe" },
      }, rows)
    end)

    it("walks and writes back a table keyed by a binary column", function()
      local blob = backend == "postgres" and "BYTEA" or "BLOB"
      local lit = backend == "postgres" and "'\\x%s'::bytea" or "X'%s'"
      local values = {}
      for i = 1, 50 do
        values[#values + 1] = ("(%s, %d, NULL)"):format(lit:format(("%02x00ff"):format(i)), i)
      end
      local dir, url = setup(backend, { base_rev(), backfill_rev([[
        local n = op.backfill{ table = "bk", key = "k", columns = { "a" }, batch_size = 7,
          fn = function(r) return { out = "v" .. r.a .. ":" .. #r.k } end }
        assert(n == 50, "rows " .. n)]]) })
      h.query(url, ("CREATE TABLE bk (k %s PRIMARY KEY NOT NULL, a INTEGER NOT NULL, out TEXT); " ..
        "INSERT INTO bk (k, a, out) VALUES %s"):format(blob, table.concat(values, ", ")))
      local r = run(dir, "upgrade head")
      assert.are.equal(0, r.code, show(r))
      assert.are.equal("0", one(url, "SELECT count(*) FROM bk WHERE out IS NULL OR out <> 'v' || a || ':3'"))
    end)

    if backend == "postgres" then
      -- The fn form writes a batch back through one array parameter per
      -- column (unnest($1::text[], ...)); every value must survive the
      -- array literal byte for byte, keys included.
      it("writes array-literal edge cases back exactly through fn (PostgreSQL)", function()
        local cases = {
          { k = 'q"uote', t = 'say "hi" "" "', b = "\0" },
          { k = "back\\slash", t = "C:\\dir\\n \\\\ \\\" \\", b = "\0\0\0\\" },
          { k = "{brace}", t = "{a,b}", b = "{}" },
          { k = "}", t = "{", b = "}" },
          { k = "com,ma", t = "a,b,,c,", b = "," },
          { k = "NULL", t = "NULL", b = "NULL" },
          { k = "null", t = "null", b = "\0NULL\0" },
          { k = "", t = "", b = "" },
          { k = " pad ", t = "  two spaces  ", b = " " },
          { k = "new\nline", t = "l1\nl2\r\nl3\ttab\n", b = "\n\r\0" },
          { k = "ü✓", t = "日本 \u{1F600} ü", b = "\255\254\0\1" },
          { k = "nil", t = nil, b = nil },
          { k = "only t", t = "'single' quotes; --", only_t = true },
        }
        local keys, rows = {}, {}
        for i, c in ipairs(cases) do
          keys[#keys + 1] = ("(%s, 'orig', '\\x99'::bytea)"):format(h.literal(c.k))
          rows[#rows + 1] = ("[%q] = { %s, %s, %s, %d }"):format(c.k,
            c.t and ("%q"):format(c.t) or "op.null", c.b and ("%q"):format(c.b) or "op.null",
            tostring(c.only_t == true), i)
        end
        local data = "local cases = {\n" .. table.concat(rows, ",\n") .. "\n}\n" .. [[
          local n = op.backfill{ table = "edge", key = "k", batch_size = 4,
            fn = function(r)
              local c = assert(cases[r.k], "unexpected key")
              if c[3] then return { t = c[1] } end
              return { t = c[1], b = c[2], n = c[4], f = c[4] + 0.25, ok = c[4] % 2 == 0,
                tags = '{"x,y","a\\"b",NULL,"NULL",""}', v = c[1] == op.null and op.null or c[1]:sub(1, 3),
                m = c[4] % 2 == 0 and 'sad, "really"' or "happy", pos = c[4],
                pr = '(' .. c[4] .. ',"a,\\"b")' }
            end }
          assert(n == ]] .. #cases .. [[, "rows " .. n)]]
        local dir, url = setup(backend, { base_rev(), backfill_rev(data) })
        h.query(url, [[CREATE TYPE lm_mood AS ENUM ('happy', 'sad, "really"');
          CREATE TYPE lm_pair AS (x INTEGER, y TEXT);
          CREATE DOMAIN lm_pos AS INTEGER CHECK (VALUE > 0);
          CREATE TABLE edge (k TEXT PRIMARY KEY, t TEXT, b BYTEA, n INTEGER, f DOUBLE PRECISION,
            ok BOOLEAN, tags TEXT[], v VARCHAR(20), m lm_mood, pos lm_pos, pr lm_pair);
          INSERT INTO edge (k, t, b) VALUES ]] .. table.concat(keys, ", "))
        local r = run(dir, "upgrade head")
        assert.are.equal(0, r.code, show(r))
        local function hex(s)
          return s and (s:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end)) or h.NULL
        end
        local want = {}
        for i, c in ipairs(cases) do
          if c.only_t then
            want[#want + 1] = { hex(c.k), hex(c.t), "99" }
            for _ = 4, 12 do want[#want][#want[#want] + 1] = h.NULL end
          else
            want[#want + 1] = { hex(c.k), hex(c.t), hex(c.b), tostring(i), tostring(i) .. ".25",
              i % 2 == 0 and "t" or "f", '{"x,y","a\\"b",NULL,"NULL",""}',
              c.t and hex(c.t:sub(1, 3)) or h.NULL, i % 2 == 0 and 'sad, "really"' or "happy",
              tostring(i), tostring(i), 'a,"b' }
          end
        end
        table.sort(want, function(a, b) return a[1] < b[1] end)
        local got = h.query(url, [[SELECT encode(convert_to(k, 'UTF8'), 'hex'),
          encode(convert_to(t, 'UTF8'), 'hex'), encode(b, 'hex'), n, f, ok, tags::text,
          encode(convert_to(v, 'UTF8'), 'hex'), m, pos, (pr).x, (pr).y
          FROM edge ORDER BY encode(convert_to(k, 'UTF8'), 'hex') COLLATE "C"]])
        assert.are.same(want, got)
      end)

      it("refuses a text value with a NUL byte, naming the column (PostgreSQL)", function()
        local dir, url = setup(backend, { base_rev(), backfill_rev([[
          op.backfill{ table = "items", key = "id", fn = function(r) return { out = "a\0b" } end }]]) })
        create_items(url, backend, 10)
        local r = run(dir, "upgrade head")
        assert.are.equal(1, r.code, show(r))
        assert.matches('op.backfill "items": column "out": text contains a NUL byte', r.err, 1, true)
        assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE out IS NOT NULL"))
      end)
    end

    it("names the valid options for an unknown one", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(
        [[op.each_batch{ table = "items", key = "id", fn = function() end, bogus = 1 }]]) })
      create_items(url, backend, 10)
      local r = run(dir, "upgrade head")
      assert.are.equal(1, r.code, show(r))
      assert.matches("r2_rev.lua:%d+: unknown option 'bogus' for each_batch %(valid options: table, key, fn,", r.err)
      r = run(dir, "current")
      assert.matches("r2 %(in data phase", r.out)
    end)

    it("refuses a key that is not unique, naming the fix", function()
      local dir, url = setup(backend, { base_rev(), backfill_rev(
        [[op.backfill{ table = "items", key = "a", set = "out = 'x'" }]]) })
      create_items(url, backend, 10)
      local r = run(dir, "upgrade head")
      assert.are.equal(1, r.code, show(r))
      assert.matches('r2_rev.lua:%d+: op.backfill "items": the key must be unique', r.err)
      assert.are.equal("0", one(url, "SELECT count(*) FROM items WHERE out IS NOT NULL"))
    end)

    it("refuses op.backfill inside a transactional upgrade", function()
      local dir, url = setup(backend, { base_rev(), rev { id = "r2", down = "r1",
        up = [[op.backfill{ table = "items", key = "id", set = "out = 'x'" }]] } })
      create_items(url, backend, 10)
      local r = run(dir, "upgrade head")
      assert.are.equal(1, r.code, show(r))
      assert.matches("op.backfill runs its batches in their own transactions: call it " ..
        "from the revision's `data = function(op) ... end`", r.err, 1, true)
      assert.version_is(url, "r1")
    end)
  end)
end
