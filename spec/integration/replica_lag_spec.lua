-- spec/integration/replica_lag_spec.lua: op.backfill and op.each_batch on
-- a primary with a streaming replica (issue 14, replica lag). The spec
-- starts its own primary + replica pair with spec/support/pgreplica.sh
-- (pg_basebackup -R, loopback ports), slows the replica's replay with
-- recovery_min_apply_delay, and checks that a walk pauses while the lag is
-- over max_replica_lag (the pause line names the lag and the replica),
-- then finishes with every row updated exactly once; that 0 never pauses;
-- the replica_urls variant (a user who cannot read pg_stat_replication);
-- clear errors for bad replica_urls entries with nothing half-applied; and
-- Ctrl-C in the middle of a pause. Skips only when the PostgreSQL server
-- binaries are missing (scripts/deps.sh installs them).

local h = require "helpers"
local Q = h.quote

local HELPER = h.root .. "/spec/support/pgreplica.sh"
local ROWS = 2000

local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local show = h.show

-- h.run, echoing the transcript with LMIGRATE_SPEC_ECHO=1 (timings).
local function run(args, opts)
  local t0 = os.time()
  local r = h.run(args, opts)
  if os.getenv("LMIGRATE_SPEC_ECHO") then
    io.stderr:write(show(r), ("\n(%d s)\n"):format(os.time() - t0))
  end
  return r
end

local function one(url, sql)
  local rows = h.psql(url, sql)
  return rows[1] and rows[1][1]
end

-- The revision pair: r1 creates items(id, n = 0) with ROWS rows, r2's data
-- phase runs `data` (Lua statements using op).
local function revs(data)
  return {
    h.rev { id = "r1",
      up = 'op.create_table("items", { "id", "integer", primary_key = true }, ' ..
           '{ "n", "integer", nullable = false, server_default = "0" }) ' ..
           'op.execute("INSERT INTO items (id) SELECT g FROM ' ..
           'generate_series(1, ' .. ROWS .. ') AS g")' },
    h.rev { id = "r2", down = "r1", fields = "  data = function(op) " .. data .. " end," },
  }
end

-- Each batch adds 1 to n: a row done twice would show n = 2.
local BACKFILL = 'op.backfill{ table = "items", key = "id", set = "n = n + 1", ' ..
                 'batch_size = 400, sleep_ms = 200 }'

local available = sh("bash " .. Q(HELPER) .. " check 2>&1")

describe("replica lag #postgres", function()
  if not available then
    it("is skipped: PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed", function()
      pending("install PostgreSQL (scripts/deps.sh) to run the replica-lag specs")
    end)
    return
  end

  local state = os.tmpname()
  local env = "LMIGRATE_PGREPLICA_STATE=" .. Q(state) .. " "
  local primary, replica, nextdb = nil, nil, 0

  -- url with its user replaced and search_path set to schema (each test
  -- has one, made in setup; nil: the database itself).
  local function at(url, user, schema)
    url = url:gsub("//[^@]*@", "//" .. user .. "@")
    if schema then url = url .. "?options=-csearch_path%3D" .. schema end
    return url
  end

  local function set_delay(d)
    h.psql(replica, "ALTER SYSTEM SET recovery_min_apply_delay = '" .. d .. "';\n" ..
                    "SELECT pg_reload_conf();")
  end

  -- A project in a fresh directory on schema lag_<n> (made in setup).
  local function project(config, data)
    nextdb = nextdb + 1
    local dir = h.tmpdir()
    local db = "lag_" .. nextdb
    h.project(dir, revs(data or BACKFILL), { config = config(db) })
    return dir, db
  end

  setup(function()
    os.remove(state)
    local ok, out = sh(env .. "bash " .. Q(HELPER) .. " start")
    assert(ok, "pgreplica.sh start failed: " .. out)
    primary, replica = out:match("^(%S+)\n(%S+)")
    local sql = { "CREATE ROLE app LOGIN;" }
    for i = 1, 8 do sql[#sql + 1] = "CREATE SCHEMA lag_" .. i .. " AUTHORIZATION app;" end
    h.psql(primary, table.concat(sql, "\n"))
    -- the replica has them before its replay is slowed down
    for _ = 1, 100 do
      if one(replica, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'lag_%'") == "8" then
        break
      end
      os.execute("sleep 0.1")
    end
    set_delay("2s")
  end)

  teardown(function()
    os.execute(env .. "bash " .. Q(HELPER) .. " stop")
    os.remove(state)
  end)

  local function counts(db)
    local url = at(primary, "postgres", db)
    return tonumber(one(url, "SELECT count(*) FROM items WHERE n = 1")),
           tonumber(one(url, "SELECT count(*) FROM items WHERE n <> 1"))
  end

  it("pauses a backfill while the replica's replay lag is over max_replica_lag, then finishes: every row once", function()
    local dir, db = project(function(db)
      return ("return { url = %q, max_replica_lag = 1 }\n"):format(at(primary, "postgres", db))
    end)
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    local lag = r.err:match("backfill items: paused, replica lag (%d+%.%d) s > " ..
                            "max_replica_lag 1 s %(replica walreceiver at 127%.0%.0%.1%)")
    assert.is_truthy(lag, show(r))
    assert.is_true(tonumber(lag) >= 1.0, show(r))
    assert.matches("backfill items: resumed after %d+%.%d s paused", r.err)
    assert.matches("backfill items: done, " .. ROWS .. " rows", r.err, 1, true)
    local done, other = counts(db)
    assert.are.same({ ROWS, 0 }, { done, other })
    assert.are.same({ "r2" }, h.versions(at(primary, "postgres", db)))
  end)

  it("never pauses with --max-replica-lag 0 (the config's value is overridden)", function()
    local dir, db = project(function(db)
      return ("return { url = %q, max_replica_lag = 1 }\n"):format(at(primary, "postgres", db))
    end)
    local r = run({ "--max-replica-lag", "0", "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    assert.is_nil(r.err:find("paused", 1, true), show(r))
    local done, other = counts(db)
    assert.are.same({ ROWS, 0 }, { done, other })
  end)

  it("op.each_batch pauses too, with the per-call max_replica_lag over a config of 0", function()
    local dir, db = project(function(db)
      return ("return { url = %q, max_replica_lag = 0 }\n"):format(at(primary, "postgres", db))
    end, 'op.each_batch{ table = "items", key = "id", batch_size = 200, sleep_ms = 150, ' ..
         'max_replica_lag = 1, fn = function(rows, op) ' ..
         'op.execute("UPDATE items SET n = n + 1 WHERE id BETWEEN $1 AND $2", ' ..
         '{ rows[1].id, rows[#rows].id }) end }')
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    assert.matches("each_batch items: paused, replica lag %d+%.%d s > max_replica_lag 1 s", r.err)
    local done, other = counts(db)
    assert.are.same({ ROWS, 0 }, { done, other })
  end)

  it("replica_urls: polls the replica directly when pg_stat_replication is not readable", function()
    local rurl
    local dir, db = project(function(db)
      rurl = at(replica, "app", db)
      return ("return { url = %q, max_replica_lag = 1, replica_urls = { %q } }\n"):format(
        at(primary, "app", db), rurl)
    end)
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    -- app is no pg_monitor member: the primary hides the replica's position
    assert.matches("cannot read the replay position of 1 replica in pg_stat_replication", r.err, 1, true)
    assert.matches("backfill items: paused, replica lag %d+%.%d s > max_replica_lag 1 s " ..
                   "%(replica " .. rurl:gsub("%p", "%%%0") .. "%)", r.err)
    local done, other = counts(db)
    assert.are.same({ ROWS, 0 }, { done, other })
  end)

  it("a replica_urls entry that is not a postgresql:// URL is a config error: nothing runs", function()
    local dir, db = project(function(db)
      return ("return { url = %q, replica_urls = { %q, 'sqlite:x.db' } }\n"):format(
        at(primary, "postgres", db), at(replica, "postgres", db))
    end)
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(1, r.code, show(r))
    assert.are.equal("lmigrate: error: lmigrate.lua: replica_urls[2] must be a postgresql:// " ..
                     "URL of a streaming replica (got 'sqlite:x.db')\n", r.err)
    assert.are.same({}, h.tables(at(primary, "postgres", db)))
  end)

  it("an unreachable replica or the primary in replica_urls stops the walk before its first batch; fixed, it resumes", function()
    local purl
    local dir, db = project(function(db)
      purl = at(primary, "postgres", db)
      return ("return { url = %q, replica_urls = { %q } }\n"):format(
        purl, "postgresql://postgres:secret@127.0.0.1:1/lmigrate_test")
    end)
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(1, r.code, show(r))
    assert.matches('op.backfill "items": replica_urls[1] (postgresql://postgres:***@127.0.0.1:1/' ..
                   'lmigrate_test): cannot connect', r.err, 1, true)
    assert.matches("fix or remove the entry (the walk has not started)", r.err, 1, true)
    assert.is_nil(r.err:find("secret", 1, true), show(r))
    local done = counts(db)
    assert.are.equal(0, done)
    -- the primary is no replica
    h.write(dir .. "/lmigrate.lua", ("return { url = %q, replica_urls = { %q } }\n"):format(purl, purl))
    r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(1, r.code, show(r))
    assert.matches("it is not a replica (pg_is_in_recovery() is false)", r.err, 1, true)
    assert.are.equal(0, (counts(db)))
    -- fixed: the data phase runs, every row once
    h.write(dir .. "/lmigrate.lua", ("return { url = %q, replica_urls = { %q } }\n"):format(
      purl, at(replica, "postgres", db)))
    r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    local d, other = counts(db)
    assert.are.same({ ROWS, 0 }, { d, other })
  end)

  it("bad max_replica_lag values are clear errors (config, option, CLI)", function()
    local dir, db = project(function(db)
      return ("return { url = %q, max_replica_lag = -1 }\n"):format(at(primary, "postgres", db))
    end)
    local r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(1, r.code, show(r))
    assert.matches("lmigrate.lua: 'max_replica_lag' must be a number of seconds from 0 to 86400",
                   r.err, 1, true)
    r = run({ "--max-replica-lag", "soon", "upgrade", "head" }, { cwd = dir })
    assert.are.equal(2, r.code, show(r))
    assert.matches("--max-replica-lag expects seconds (0 to 86400), got 'soon'", r.err, 1, true)
    h.write(dir .. "/lmigrate.lua", ("return { url = %q }\n"):format(at(primary, "postgres", db)))
    h.write(dir .. "/versions/r2_rev.lua", revs('op.backfill{ table = "items", key = "id", ' ..
      'set = "n = n + 1", max_replica_lag = "10" }')[2].text)
    r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(1, r.code, show(r))
    assert.matches("r2_rev.lua:5: op.backfill: option 'max_replica_lag' must be a number of seconds",
                   r.err, 1, true)
  end)

  it("Ctrl-C during a pause stops at once (exit 130) and the run resumes later", function()
    local dir, db = project(function(db)
      return ("return { url = %q, max_replica_lag = 1 }\n"):format(at(primary, "postgres", db))
    end)
    set_delay("30s")
    local wrapper = h.write(dir .. "/int.sh", table.concat({
      "#!/bin/sh",
      "t0=$(date +%s%N)",
      "timeout --preserve-status -s INT 2.5 " .. Q(h.bin()) .. ' "$@"',
      "rc=$?",
      "echo $(( ($(date +%s%N) - t0) / 1000000 )) > elapsed",
      "exit $rc", "" }, "\n"))
    os.execute("chmod +x " .. Q(wrapper))
    local r = run({ "upgrade", "head" }, { cwd = dir, bin = wrapper })
    set_delay("0")
    assert.are.equal(130, r.code, show(r))
    assert.matches("backfill items: paused, replica lag", r.err, 1, true)
    assert.matches("interrupted", r.err, 1, true)
    local ms = tonumber(h.read(dir .. "/elapsed"))
    assert.is_true(ms < 4000, "took " .. tostring(ms) .. " ms\n" .. show(r))
    local done, other = counts(db)
    assert.are.equal(ROWS, done + other)
    r = run({ "upgrade", "head" }, { cwd = dir })
    assert.are.equal(0, r.code, show(r))
    done, other = counts(db)
    assert.are.same({ ROWS, 0 }, { done, other })
  end)
end)
