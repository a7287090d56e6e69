-- spec/integration/runners_spec.lua: many runners at once (issue 3). Eight
-- `lmigrate upgrade head` processes start together on 20 revisions, each
-- revision inserting one row into a log table; afterwards every revision
-- ran exactly once, whichever runner ran it. Repeated on fresh databases,
-- because a race that loses one time in twenty is still a race.

local h = require "helpers"

local RUNNERS = 8
local REVISIONS = 20
local ROUNDS = tonumber(os.getenv("LMIGRATE_RUNNERS_ROUNDS") or "") or 20

-- Revision id number i: r01aaa, r02aaa, ... (sorted like their order).
local function rid(i) return ("r%02daaa"):format(i) end

-- The revision set: r01 creates runlog and logs itself, every later one
-- only logs itself. Each row records which revision wrote it.
local function revisions()
  local revs = {}
  for i = 1, REVISIONS do
    local up = {}
    if i == 1 then
      up[#up + 1] = 'op.create_table("runlog", {"rev", "string(16)"})'
    end
    up[#up + 1] = ('op.execute("INSERT INTO runlog (rev) VALUES ($1)", { %q })')
      :format(rid(i))
    revs[#revs + 1] = { file = rid(i) .. "_log.lua", text = table.concat({
      "return {",
      ("  revision = %q,"):format(rid(i)),
      ("  down_revision = %s,"):format(i == 1 and "nil" or ("%q"):format(rid(i - 1))),
      ("  message = %q,"):format("log " .. i),
      "  upgrade = function(op) " .. table.concat(up, " ") .. " end,",
      "}", "" }, "\n") }
  end
  return revs
end

-- Start RUNNERS `upgrade head` processes from one shell line, wait for all
-- of them; returns their exit statuses (strings) and everything they
-- printed, runner by runner.
local function stampede(dir)
  local parts = { "cd " .. h.quote(dir), "rm -f c* o* e*" }
  local starts = {}
  for i = 1, RUNNERS do
    starts[#starts + 1] = ("(%s --lock-timeout 120 upgrade head >o%d 2>e%d; echo $? >c%d) &")
      :format(h.quote(h.bin()), i, i, i)
  end
  parts[#parts + 1] = table.concat(starts, " ") .. " wait"
  -- make asan-test: the CLI runs with leak detection (as in h.run)
  local asan = os.getenv("LMIGRATE_CHILD_ASAN_OPTIONS")
  local cmd = "env -u LMIGRATE_URL -u DATABASE_URL " ..
    (asan and ("ASAN_OPTIONS=" .. h.quote(asan) .. " ") or "") .. "sh -c " ..
    h.quote(table.concat(parts, "; "))
  assert(os.execute(cmd))
  local codes, out = {}, {}
  for i = 1, RUNNERS do
    codes[i] = h.read(dir .. "/c" .. i):gsub("%s", "")
    out[#out + 1] = ("--- runner %d (exit %s)\n%s%s"):format(i, codes[i],
      h.read(dir .. "/o" .. i), h.read(dir .. "/e" .. i))
  end
  return codes, table.concat(out)
end

for _, backend in ipairs(h.each_backend()) do
  describe("eight runners at once [" .. backend .. "] #integration #" .. backend, function()
    it(("apply each of %d revisions exactly once, %d rounds"):format(REVISIONS, ROUNDS), function()
      local revs = revisions()
      local all_ok = {}
      for i = 1, RUNNERS do all_ok[i] = "0" end
      local want_log, want_hist = {}, {}
      for i = 1, REVISIONS do
        want_log[i] = rid(i) .. " 1"
        want_hist[i] = rid(i) .. " 1"
      end

      for round = 1, ROUNDS do
        local dir = h.tmpdir()
        local url = h.db_url(backend, dir)
        h.project(dir, revs, { config =
          ("return { url = %q, script_location = \"versions\" }\n"):format(url) })

        local codes, out = stampede(dir)
        local ctx = ("round %d on %s:\n%s"):format(round, url, out)
        assert.same(all_ok, codes, ctx)

        -- exactly one log row per revision
        local log = {}
        for _, r in ipairs(h.query(url,
            "SELECT rev, COUNT(*) FROM runlog GROUP BY rev ORDER BY rev")) do
          log[#log + 1] = r[1] .. " " .. r[2]
        end
        assert.same(want_log, log, ctx)
        assert.same({ { tostring(REVISIONS) } },
          h.query(url, "SELECT COUNT(*) FROM runlog"), ctx)

        -- history: each revision applied once, nothing failed
        local hist = {}
        for _, r in ipairs(h.query(url,
            "SELECT revision, COUNT(*) FROM lmigrate_version_history " ..
            "WHERE direction = 'up' AND outcome = 'applied' " ..
            "GROUP BY revision ORDER BY revision")) do
          hist[#hist + 1] = r[1] .. " " .. r[2]
        end
        assert.same(want_hist, hist, ctx)
        assert.same({ { tostring(REVISIONS) } },
          h.query(url, "SELECT COUNT(*) FROM lmigrate_version_history"), ctx)

        -- one version row: the head
        assert.version_is(url, rid(REVISIONS))

        -- the runners together announced each revision once
        local _, nrun = out:gsub("Running upgrade", "")
        assert.equal(REVISIONS, nrun, ctx)

        h.rmdir(dir)
        if backend == "postgres" then
          local base = os.getenv("LMIGRATE_TEST_PG_URL")
          local name = url:match("^postgres[ql]*://[^/]*/([^?]*)")
          h.psql(base, "DROP DATABASE IF EXISTS " .. name)
        end
      end
    end)
  end)
end
