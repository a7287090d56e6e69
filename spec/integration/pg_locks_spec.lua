-- spec/integration/pg_locks_spec.lua: lock safety on PostgreSQL (issue 3).
-- A revision that waits for a table lock gives up after --ddl-lock-timeout,
-- rolls back, backs off and retries a bounded number of times, then fails
-- cleanly; --statement-timeout bounds a statement's run time; the runner's
-- advisory lock lets one lmigrate run at a time, bounded by --lock-timeout.
-- Other sessions are played by background psql processes.

local h = require "helpers"

local rev = h.rev

-- aaa111: table t (id) with three rows, and table runlog (what revisions
-- did: a row per run of a revision body that committed).
local function base()
  return rev { id = "aaa111", slug = "t",
    up = 'op.create_table("t", {"id", "integer", primary_key = true}) ' ..
         'op.create_table("runlog", {"rev", "string(16)"}) ' ..
         'op.execute("INSERT INTO t (id) VALUES (1), (2), (3)")',
    dn = 'op.drop_table("runlog") op.drop_table("t")' }
end

-- bbb222: logs itself, then alters t (needs ACCESS EXCLUSIVE on t).
local function alter()
  return rev { id = "bbb222", down = "aaa111", slug = "alter",
    up = [[op.execute("INSERT INTO runlog (rev) VALUES ('bbb222')") ]] ..
         'op.add_column("t", {"note", "string(20)"})',
    dn = 'op.drop_column("t", "note")' }
end

-- A fresh project on a fresh PostgreSQL database; extra is Lua source
-- added to the config table (e.g. "lock_retries = 1,"). lint = "off":
-- these specs time lock waits against a holder session, and upgrade's
-- lint pass would add its own time before the first lock.
local function setup(revs, extra)
  return h.setup("postgres", revs, { extra = 'lint = "off", ' .. (extra or "") })
end

local run = h.run_in
local show = h.show
local history = h.history

local function now_ms()
  local p = assert(io.popen("date +%s%3N"))
  local s = p:read("a")
  p:close()
  return tonumber((s:gsub("%s", "")))
end

local function sleep(s) os.execute("sleep " .. s) end

-- Poll cond() every 50 ms until it is true; false after `secs` seconds.
local function wait_for(cond, secs)
  local deadline = now_ms() + secs * 1000
  repeat
    if cond() then return true end
    sleep(0.05)
  until now_ms() > deadline
  return cond()
end

-- Start a background psql session on url running sql (a script); it
-- writes its exit status to dir/<tag>.rc when it ends, output to
-- dir/<tag>.out. Returns a function that waits for it (up to secs) and
-- returns the exit status as a string (nil when it did not end in time).
local function session(dir, url, tag, sql)
  h.write(dir .. "/" .. tag .. ".sql", sql)
  os.execute(("(psql -X -q -v ON_ERROR_STOP=1 -d %s -f %s >%s 2>&1; echo $? >%s) " ..
    "</dev/null >/dev/null 2>&1 &"):format(h.quote(url),
    h.quote(dir .. "/" .. tag .. ".sql"), h.quote(dir .. "/" .. tag .. ".out"),
    h.quote(dir .. "/" .. tag .. ".rc")))
  local rcfile = dir .. "/" .. tag .. ".rc"
  return function(secs)
    wait_for(function()
      return h.exists(rcfile) and h.read(rcfile):match("%d") ~= nil
    end, secs or 30)
    if not h.exists(rcfile) then return nil end
    return (h.read(rcfile):gsub("%s", ""))
  end
end

-- Whether another session holds `mode` on table tbl of url's database.
local function table_locked(url, tbl, mode)
  local rows = h.query(url, "SELECT count(*) FROM pg_catalog.pg_locks l " ..
    "JOIN pg_catalog.pg_class c ON c.oid = l.relation " ..
    "WHERE l.database = (SELECT oid FROM pg_catalog.pg_database " ..
    "WHERE datname = current_database()) AND l.granted AND c.relname = " ..
    h.literal(tbl) .. " AND l.mode = " .. h.literal(mode))
  return rows[1][1] ~= "0"
end

-- Whether some session of url's database holds an advisory lock.
local function advisory_locked(url)
  local rows = h.query(url, "SELECT count(*) FROM pg_catalog.pg_locks " ..
    "WHERE locktype = 'advisory' AND granted AND database = " ..
    "(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())")
  return rows[1][1] ~= "0"
end

-- Hold ACCESS EXCLUSIVE on t for `secs` seconds in another session;
-- returns once the lock is granted, and the session's waiter.
local function hold_table(dir, url, secs, mode)
  mode = mode or "ACCESS EXCLUSIVE"
  local waiter = session(dir, url, "holder", ("BEGIN;\nLOCK TABLE t IN %s MODE;\n" ..
    "SELECT pg_catalog.pg_sleep(%s);\nCOMMIT;\n"):format(mode, secs))
  local pgmode = mode:lower():gsub("(%a+)", function(w)
    return w:sub(1, 1):upper() .. w:sub(2) end):gsub(" ", "") .. "Lock"
  assert(wait_for(function() return table_locked(url, "t", pgmode) end, 10),
    "the holder session did not get its lock on t")
  return waiter
end

local function only_postgres(fn)
  for _, b in ipairs(h.each_backend()) do
    if b == "postgres" then return fn() end
  end
end

only_postgres(function()
describe("lock safety [postgres] #integration #postgres", function()
  -----------------------------------------------------------------------
  -- --ddl-lock-timeout and bounded retries

  it("a revision that waits for a table lock is retried with backoff and succeeds once the lock is released", function()
    local dir, url = setup({ base(), alter() })
    local r = run(dir, "upgrade aaa111")
    assert.equal(0, r.code, show(r))

    local holder = hold_table(dir, url, 1.5)
    local t0 = now_ms()
    r = run(dir, "--ddl-lock-timeout 0.3 upgrade head", { timeout = 60 })
    local took = now_ms() - t0
    assert.equal("0", holder(), h.read(dir .. "/holder.out"))
    assert.equal(0, r.code, show(r))
    -- at least one retry, each announced on stderr
    assert.matches("revision bbb222: lock wait timed out after 300 ms; rolled back, " ..
      "retry 1 of 3", r.err, 1, true)
    assert.not_matches("error", r.err)
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.is_true(took >= 1000, "the run should have waited for the holder (took " .. took .. " ms)")
    -- applied once: the rolled-back attempts left nothing behind
    assert.has_column(url, "t", "note")
    assert.same({ { "bbb222", "1" } },
      h.query(url, "SELECT rev, count(*) FROM runlog GROUP BY rev"))
    assert.version_is(url, "bbb222")
    assert.same({ "aaa111 up applied", "bbb222 up applied" }, history(url))
  end)

  it("when the lock is held past every retry, the run fails cleanly (exit 1, nothing applied)", function()
    local dir, url = setup({ base(), alter() }, "lock_retries = 1,")
    local r = run(dir, "upgrade aaa111")
    assert.equal(0, r.code, show(r))

    local holder = hold_table(dir, url, 4)
    local t0 = now_ms()
    r = run(dir, "--ddl-lock-timeout 0.3 upgrade head", { timeout = 60 })
    local took = now_ms() - t0
    assert.equal(1, r.code, show(r))
    -- one retry (lock_retries = 1), then the failure: the lock timeout
    -- error, and that the revision was rolled back
    local _, nretry = r.err:gsub("lock wait timed out after 300 ms; rolled back, retry", "")
    assert.equal(1, nretry, show(r))
    assert.matches("retry 1 of 1", r.err, 1, true)
    assert.matches("lock timeout", r.err, 1, true)
    assert.matches("revision bbb222 %(versions/bbb222_alter.lua%) failed and was rolled back", r.err)
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.not_matches("aaa111 %-> bbb222[^\n]*\n  done in", r.out)
    -- 0.3 s + 0.5 s backoff + 0.3 s: gave up while the holder (4 s) still
    -- held its lock
    assert.is_false(h.exists(dir .. "/holder.rc"),
      "the run should give up after its retries, not outwait the holder (took " .. took .. " ms)")

    assert.equal("0", holder(), h.read(dir .. "/holder.out"))
    assert.has_no_column(url, "t", "note")
    assert.same({}, h.query(url, "SELECT rev FROM runlog"))
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))

    -- a transactional failure does not block: the next run applies it
    r = run(dir, "--ddl-lock-timeout 0.3 upgrade head")
    assert.equal(0, r.code, show(r))
    assert.version_is(url, "bbb222")
  end)

  it("the application's queries do not queue behind a waiting migration for longer than the timeout", function()
    -- A long transaction holds ACCESS SHARE on t (a slow report); the
    -- migration's ALTER waits for ACCESS EXCLUSIVE; readers arriving
    -- meanwhile queue behind the ALTER, but only until its lock_timeout.
    local dir, url = setup({ base(), alter() }, "lock_retries = 1,")
    local r = run(dir, "upgrade aaa111")
    assert.equal(0, r.code, show(r))
    local holder = hold_table(dir, url, 3, "ACCESS SHARE")

    -- readers: 20 one-shot sessions over ~2.5 s, each timing its query
    local reader = dir .. "/reader.sh"
    h.write(reader, ([[
for i in $(seq 1 20); do
  s=$(date +%%s%%3N)
  psql -X -q -A -t -d %s -c 'SELECT count(*) FROM t' >/dev/null 2>&1 || echo fail >>%s
  e=$(date +%%s%%3N)
  echo $((e - s)) >>%s
  sleep 0.05
done
echo 0 >%s
]]):format(h.quote(url), h.quote(dir .. "/reader.fail"),
      h.quote(dir .. "/reader.ms"), h.quote(dir .. "/reader.rc")))
    os.execute("sh " .. h.quote(reader) .. " </dev/null >/dev/null 2>&1 &")
    sleep(0.2)
    r = run(dir, "--ddl-lock-timeout 0.3 upgrade head", { timeout = 60 })
    assert.equal(1, r.code, show(r))
    assert.matches("lock timeout", r.err, 1, true)
    assert.is_true(wait_for(function() return h.exists(dir .. "/reader.rc") end, 30))
    assert.equal("0", holder())
    assert.is_false(h.exists(dir .. "/reader.fail"))
    local worst = 0
    for ms in h.read(dir .. "/reader.ms"):gmatch("%d+") do
      worst = math.max(worst, tonumber(ms))
    end
    -- a reader waits at most one lock_timeout (300 ms) behind the ALTER,
    -- plus its own connection time; without the limit it would wait for
    -- the holder's whole 3 s
    assert.is_true(worst < 1500, "a reader was blocked for " .. worst .. " ms")
    assert.version_is(url, "aaa111")
  end)

  -----------------------------------------------------------------------
  -- --statement-timeout

  it("--statement-timeout cancels a statement that runs too long (exit 1, nothing applied)", function()
    local dir, url = setup({ base(), rev { id = "bbb222", down = "aaa111", slug = "slow",
      up = [[op.execute("INSERT INTO runlog (rev) VALUES ('bbb222')") ]] ..
           'op.execute("SELECT pg_sleep(3)")' } })
    local r = run(dir, "upgrade aaa111")
    assert.equal(0, r.code, show(r))
    local t0 = now_ms()
    r = run(dir, "--statement-timeout 0.2 upgrade head", { timeout = 60 })
    local took = now_ms() - t0
    assert.equal(1, r.code, show(r))
    assert.matches("statement timeout", r.err, 1, true)
    assert.matches("failed and was rolled back", r.err, 1, true)
    assert.not_matches("retry", r.err)         -- not a lock wait: no retries
    assert.is_true(took < 2500, "the statement should have been cancelled (took " .. took .. " ms)")
    assert.same({}, h.query(url, "SELECT rev FROM runlog"))
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    -- the limit is per revision: without it the revision runs
    r = run(dir, "upgrade head", { timeout = 60 })
    assert.equal(0, r.code, show(r))
    assert.version_is(url, "bbb222")
  end)

  it("a non-transactional revision runs without the limits; the next transactional one has them again", function()
    -- CREATE INDEX CONCURRENTLY waits for transactions already using the
    -- table, by design and without blocking the application, and cannot
    -- be retried: the per-revision limits are not applied to it. They
    -- still bound the transactional revision that follows in the same run.
    local dir, url = setup({ base(), rev { id = "bbb222", down = "aaa111", slug = "index",
      fields = "transactional = false,",
      up = 'op.create_index("ix_t_id", "t", {"id"}, { concurrently = true }) ' ..
           'op.execute("SELECT pg_sleep(0.6)")',
      dn = 'op.drop_index("ix_t_id", { concurrently = true })' },
      rev { id = "ccc333", down = "bbb222", slug = "slow",
        up = [[op.execute("INSERT INTO runlog (rev) VALUES ('ccc333')") ]] ..
             'op.execute("SELECT pg_sleep(1)")' } })
    local r = run(dir, "upgrade aaa111")
    assert.equal(0, r.code, show(r))
    -- a reporting transaction reads t for 1.5 s
    local holder = hold_table(dir, url, 1.5, "ACCESS SHARE")
    r = run(dir, "--ddl-lock-timeout 0.3 --statement-timeout 0.3 upgrade head",
      { timeout = 60 })
    assert.equal("0", holder())
    assert.equal(1, r.code, show(r))
    -- bbb222 waited for the reader and slept past both limits, and
    -- was applied
    assert.matches("Running upgrade aaa111 %-> bbb222", r.out)
    assert.not_matches("lock timeout", r.err, 1, true)
    assert.equal("t", h.query(url, "SELECT i.indisvalid FROM pg_catalog.pg_index i " ..
      "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'ix_t_id'")[1][1])
    -- ccc333 (transactional) got the statement timeout again
    assert.matches("statement timeout", r.err, 1, true)
    assert.matches("revision ccc333 %(versions/ccc333_slow.lua%) failed and was rolled back", r.err)
    assert.same({}, h.query(url, "SELECT rev FROM runlog"))
    assert.version_is(url, "bbb222")
    assert.same({ "aaa111 up applied", "bbb222 up applied", "ccc333 up failed" }, history(url))
  end)

  -----------------------------------------------------------------------
  -- the lock-hold guard (max_lock_hold) and the blocker report (issue 12)

  -- bbb222 takes ACCESS EXCLUSIVE on t (existing), then keeps it 3 s.
  local function holds_long()
    return rev { id = "bbb222", down = "aaa111", slug = "hold",
      up = [[op.execute("INSERT INTO runlog (rev) VALUES ('bbb222')") ]] ..
           'op.add_column("t", {"note", "string(20)"}) ' ..
           'op.execute("SELECT pg_sleep(3)")',
      dn = 'op.drop_column("t", "note")' }
  end

  it("a revision holding ACCESS EXCLUSIVE on an existing table past --max-lock-hold is stopped, rolled back and named", function()
    local dir, url = setup({ base(), holds_long() })
    assert.equal(0, run(dir, "upgrade aaa111").code)
    local t0 = now_ms()
    local r = run(dir, "--max-lock-hold 0.5 upgrade head", { timeout = 60 })
    local took = now_ms() - t0
    assert.equal(1, r.code, show(r))
    -- the report: table, lock, statement, how long, the recipe
    assert.matches("held ACCESS EXCLUSIVE on table t for 0.%d s, over the " ..
      "lock%-hold budget %(max_lock_hold = 0.5 s%)", r.err)
    assert.matches('at "SELECT pg_sleep(3)"', r.err, 1, true)
    assert.matches('taken by "ALTER TABLE "t" ADD COLUMN "note"', r.err, 1, true)
    assert.matches("Safe recipe:", r.err, 1, true)
    assert.matches("revision bbb222 %(versions/bbb222_hold.lua%) failed and was rolled back", r.err)
    assert.not_matches("retry", r.err)
    assert.is_true(took < 2500, "the guard should stop it after 0.5 s (took " .. took .. " ms)")
    assert.has_no_column(url, "t", "note")
    assert.same({}, h.query(url, "SELECT rev FROM runlog"))
    assert.version_is(url, "aaa111")
    assert.same({ "aaa111 up applied", "bbb222 up failed" }, history(url))
    -- 0 disables the guard: the same revision runs to the end
    r = run(dir, "--max-lock-hold 0 upgrade head", { timeout = 60 })
    assert.equal(0, r.code, show(r))
    assert.version_is(url, "bbb222")
  end)

  it("the guard ignores tables the revision created, and max_lock_hold is a config key", function()
    local dir, url = setup({ base(), rev { id = "bbb222", down = "aaa111", slug = "new",
      up = 'op.create_table("fresh", {"id", "integer"}) ' ..
           'op.add_column("fresh", {"note", "string(20)"}) ' ..
           'op.execute("SELECT pg_sleep(1)")',
      dn = 'op.drop_table("fresh")' } }, "max_lock_hold = 0.3,")
    assert.equal(0, run(dir, "upgrade aaa111").code)
    local r = run(dir, "upgrade head", { timeout = 60 })
    assert.equal(0, r.code, show(r))
    assert.version_is(url, "bbb222")
    -- and the config key does guard an existing table
    dir, url = setup({ base(), holds_long() }, "max_lock_hold = 0.3,")
    assert.equal(0, run(dir, "upgrade aaa111").code)
    r = run(dir, "upgrade head", { timeout = 60 })
    assert.equal(1, r.code, show(r))
    assert.matches("max_lock_hold = 0.3 s", r.err, 1, true)
    assert.version_is(url, "aaa111")
  end)

  it("a data phase is not subject to the guard", function()
    local dir, url = setup({ base(), rev { id = "bbb222", down = "aaa111", slug = "data",
      fields = 'data = function(op) op.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE; ' ..
               'SELECT pg_sleep(1)") end,',
      up = "", dn = "" } }, "max_lock_hold = 0.3,")
    assert.equal(0, run(dir, "upgrade aaa111").code)
    local r = run(dir, "upgrade head", { timeout = 60 })
    assert.equal(0, r.code, show(r))
    assert.version_is(url, "bbb222")
  end)

  it("while a revision waits for a lock, the blocking session is reported (pid, user, application, state, age, query)", function()
    local dir, url = setup({ base(), alter() }, "lock_retries = 0,")
    assert.equal(0, run(dir, "upgrade aaa111").code)
    local waiter = session(dir, url, "holder", "SELECT pg_catalog.pg_backend_pid();\n" ..
      "BEGIN;\nLOCK TABLE t IN ACCESS SHARE MODE;\nSELECT pg_catalog.pg_sleep(3);\nCOMMIT;\n")
    assert(wait_for(function() return table_locked(url, "t", "AccessShareLock") end, 10))
    local pid = h.read(dir .. "/holder.out"):match("(%d+)")
    assert.is_truthy(pid, h.read(dir .. "/holder.out"))
    local r = run(dir, "--ddl-lock-timeout 1.2 upgrade head", { timeout = 60 })
    assert.equal("0", waiter())
    assert.equal(1, r.code, show(r))
    assert.matches("waiting %d+ ms for a lock on t %(lock timeout 1200 ms%), blocked by 1 session:", r.err)
    assert.matches("pid " .. pid .. "  user %S+  application psql  state active  transaction age [%d.]+ s", r.err)
    assert.matches("query: SELECT pg_catalog.pg_sleep(3);", r.err, 1, true)
    -- the lock-timeout error names the blocker again
    assert.matches("lock timeout .*%(blocked by pid " .. pid .. ": see the warning above%)", r.err)
    assert.version_is(url, "aaa111")
  end)

  it("piped output arrives live and in order: the start line before a retry warning, the duration after", function()
    local dir, url = setup({ base(), alter() })
    assert.equal(0, run(dir, "upgrade aaa111").code)
    local holder = hold_table(dir, url, 2.5)
    -- stdout and stderr into one pipe, read line by line as they come
    local p = assert(io.popen(("cd %s && %s --ddl-lock-timeout 0.3 upgrade head 2>&1 </dev/null")
      :format(h.quote(dir), h.quote(h.bin()))))
    local first_at, lines = nil, {}
    local t0 = now_ms()
    for line in p:lines() do
      if not first_at then first_at = now_ms() - t0 end
      lines[#lines + 1] = line
    end
    p:close()
    local took = now_ms() - t0
    assert.equal("0", holder())
    local text = table.concat(lines, "\n")
    local start = text:find("Running upgrade aaa111 -> bbb222", 1, true)
    local warn = text:find("lock wait timed out", 1, true)
    local done = text:find("  done in", 1, true)
    assert.is_truthy(start and warn and done, text)
    assert.is_true(start < warn and warn < done, text)
    -- the start line came while the run was still waiting for the lock
    assert.is_true(first_at < took - 400,
      ("first line after %d ms of %d ms:\n%s"):format(first_at, took, text))
    assert.version_is(url, "bbb222")
  end)

  -----------------------------------------------------------------------
  -- the runner's advisory lock

  -- aaa111 holds the runner lock ~2 s (sleeps in SQL), bbb222 follows.
  local function slow_revs()
    return { rev { id = "aaa111", slug = "slow",
        up = 'op.create_table("runlog", {"rev", "string(16)"}) ' ..
             [[op.execute("INSERT INTO runlog (rev) VALUES ('aaa111')") ]] ..
             'op.execute("SELECT pg_sleep(2)")',
        dn = 'op.drop_table("runlog")' },
      rev { id = "bbb222", down = "aaa111", slug = "next",
        up = [[op.execute("INSERT INTO runlog (rev) VALUES ('bbb222')")]] } }
  end

  -- Start `upgrade head` in the background; returns once it holds the
  -- advisory lock, and a waiter for its exit status.
  local function slow_runner(dir, url)
    local asan = os.getenv("LMIGRATE_CHILD_ASAN_OPTIONS")
    os.execute(("cd %s && (env -u LMIGRATE_URL -u DATABASE_URL %s %s upgrade head " ..
      ">first.out 2>first.err; echo $? >first.rc) </dev/null >/dev/null 2>&1 &")
      :format(h.quote(dir), asan and ("ASAN_OPTIONS=" .. h.quote(asan)) or "",
              h.quote(h.bin())))
    assert(wait_for(function() return advisory_locked(url) end, 10),
      "the first runner did not take the advisory lock")
    return function()
      wait_for(function()
        return h.exists(dir .. "/first.rc") and h.read(dir .. "/first.rc"):match("%d")
      end, 30)
      return (h.read(dir .. "/first.rc"):gsub("%s", "")),
        h.read(dir .. "/first.out") .. h.read(dir .. "/first.err")
    end
  end

  it("a second runner with a short --lock-timeout gives up: another run holds the lock", function()
    local dir, url = setup(slow_revs())
    local first = slow_runner(dir, url)
    local t0 = now_ms()
    local r = run(dir, "--lock-timeout 0.5 upgrade head", { timeout = 60 })
    local took = now_ms() - t0
    assert.equal(1, r.code, show(r))
    assert.matches("another lmigrate run holds the lock", r.err, 1, true)
    assert.matches("--lock-timeout", r.err, 1, true)
    assert.equal("", r.out)
    assert.is_true(took >= 400, "waited only " .. took .. " ms")
    -- it gave up while the first runner (2 s) was still at work
    assert.is_false(h.exists(dir .. "/first.rc"), "waited " .. took .. " ms")
    local code, out = first()
    assert.equal("0", code, out)
    assert.version_is(url, "bbb222")
    assert.same({ { "aaa111" }, { "bbb222" } },
      h.query(url, "SELECT rev FROM runlog ORDER BY rev"))
    assert.same({ "aaa111 up applied", "bbb222 up applied" }, history(url))
  end)

  it("a second runner with a long --lock-timeout waits, then applies nothing twice", function()
    local dir, url = setup(slow_revs())
    local first = slow_runner(dir, url)
    local r = run(dir, "--lock-timeout 30 upgrade head", { timeout = 60 })
    local code, out = first()
    assert.equal("0", code, out)
    assert.equal(0, r.code, show(r))
    assert.not_matches("Running upgrade", r.out)
    assert.matches("Nothing to upgrade", r.out, 1, true)
    assert.version_is(url, "bbb222")
    assert.same({ { "aaa111" }, { "bbb222" } },
      h.query(url, "SELECT rev FROM runlog ORDER BY rev"))
    assert.same({ "aaa111 up applied", "bbb222 up applied" }, history(url))
    -- and the lock was released: nobody holds it now
    assert.is_false(advisory_locked(url))
  end)
end)
end)
