-- spec/integration/concurrency_spec.lua: two runners on one database at
-- once: the second waits for the lock, then does nothing twice.

local h = require "helpers"

local rev = h.rev

-- A revision that creates table t_<id> and drops it on downgrade.
local function trev(id, down, extra)
  local r = { id = id, down = down,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
  for k, v in pairs(extra or {}) do r[k] = v end
  return rev(r)
end

local setup = h.setup
local run = h.run_in

-- The t_* tables of db, sorted (what the trev revisions created).
local function ttables(url)
  local t = {}
  for _, name in ipairs(h.tables(url)) do
    if name:match("^t_") then t[#t + 1] = name end
  end
  return t
end

local history = h.history

-- Lines of s as a list (no trailing empty line).
local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- Busy-wait `secs` seconds inside a revision (holds the runner's lock).
local function slow(secs)
  return ("local t0 = os.time() while os.time() - t0 < %d do end "):format(secs)
end

for _, backend in ipairs(h.each_backend()) do
  describe("concurrent runners [" .. backend .. "] #integration #" .. backend, function()
    -- Start two `upgrade head` runners, the second `delay` seconds after
    -- the first; returns their outputs and exit codes.
    local function race(dir, delay)
      local cmd = ("cd %s && env -u LMIGRATE_URL -u DATABASE_URL sh -c '" ..
        "%s --lock-timeout 30 upgrade head >o1 2>e1 & sleep %s; " ..
        "%s --lock-timeout 30 upgrade head >o2 2>e2 & " ..
        "wait %%1; echo $? >c1; wait %%2; echo $? >c2'"):format(
        h.quote(dir), h.bin(), delay, h.bin())
      os.execute(cmd)
      local all = h.read(dir .. "/o1") .. h.read(dir .. "/e1") ..
                  h.read(dir .. "/o2") .. h.read(dir .. "/e2")
      return h.read(dir .. "/c1"):gsub("%s", ""), h.read(dir .. "/c2"):gsub("%s", ""), all
    end

    local function revs()
      return {
        trev("aaa111", nil, { up = slow(2) .. 'op.create_table("t_aaa111", {"id", "integer"})' }),
        trev("bbb222", "aaa111", { up = slow(1) .. 'op.create_table("t_bbb222", {"id", "integer"})' }),
        trev("ccc333", "bbb222"),
      }
    end

    for _, delay in ipairs({ "0", "0.5" }) do
      it("two `upgrade head`, the second " .. delay .. "s later, apply each revision once", function()
        local dir, url = setup(backend, revs())
        local c1, c2, all = race(dir, delay)
        assert.equal("0", c1, all)
        assert.equal("0", c2, all)
        assert.version_is(url, "ccc333")
        assert.same({ "aaa111 up applied", "bbb222 up applied", "ccc333 up applied" },
          history(url))
        local _, nrun = all:gsub("Running upgrade", "")
        assert.equal(3, nrun, all)
      end)
    end
  end)
end
