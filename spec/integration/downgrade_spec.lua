-- spec/integration/downgrade_spec.lua: `lmigrate downgrade` against real databases:
-- relative, absolute and label targets, errors that change nothing.

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

for _, backend in ipairs(h.each_backend()) do
  describe("downgrade [" .. backend .. "] #integration #" .. backend, function()
    local chain = {
      trev("aaa111", nil, { msg = "one", fields = '  branch_labels = { "core" },' }),
      trev("bbb222", "aaa111", { msg = "two" }),
      trev("ccc333", "bbb222", { msg = "three" }),
      trev("ddd444", "ccc333", { msg = "four" }),
    }

    local function at_head(revs)
      local dir, url = setup(backend, revs or chain)
      local r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      return dir, url
    end

    it("downgrade -1 reverts the current revision", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      assert.matches("^Running downgrade ddd444 %-> ccc333, four", r.out)
      assert.version_is(url, "ccc333")
      assert.same({ "t_aaa111", "t_bbb222", "t_ccc333" }, ttables(url))
      assert.equal("ddd444 down applied", history(url)[5])
    end)

    it("downgrade -N reverts N revisions newest first", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade -2")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      assert.equal(4, #out, r.out)
      assert.matches("^Running downgrade ddd444 %-> ccc333", out[1])
      assert.matches("^  done in %d+ ms$", out[2])
      assert.matches("^Running downgrade ccc333 %-> bbb222", out[3])
      assert.matches("^  done in %d+ ms$", out[4])
      assert.version_is(url, "bbb222")
    end)

    it("downgrade base reverts everything and empties the version table", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade base")
      assert.equal(0, r.code, r.err)
      assert.equal(8, #lines(r.out))   -- a start line and a duration each
      assert.matches("Running downgrade aaa111 %->  ?, one", r.out)
      assert.version_is(url, {})
      assert.same({}, ttables(url))
    end)

    it("downgrade REV stops at that revision (it stays applied)", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade bbb222")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      assert.same({ "t_aaa111", "t_bbb222" }, ttables(url))
    end)

    it("downgrade REV-N", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade ddd444-3")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
    end)

    it("downgrade label@-N", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade core@-2")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
    end)

    it("downgrade past base is an error that changes nothing", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade -5")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: .*past base", r.err)
      assert.version_is(url, "ddd444")
      assert.equal(4, #ttables(url))
    end)

    it("downgrade -1 on an empty database is an error", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "downgrade -1")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: ", r.err)
      assert.version_is(url, {})
    end)

    it("downgrade to the current revision does nothing and says so", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade ddd444")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to downgrade", r.out)
      assert.version_is(url, "ddd444")
      assert.equal(4, #history(url))
    end)

    it("downgrade to a revision that is not applied is an error", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      local r = run(dir, "downgrade ddd444")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: .*not applied", r.err)
      assert.version_is(url, "bbb222")
    end)

    it("an upgrade target given to downgrade is an error", function()
      local dir, url = at_head()
      local r = run(dir, "downgrade +1")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: .*upgrade", r.err)
      assert.version_is(url, "ddd444")
    end)

    it("-1 with two current heads is an error listing them", function()
      local dir, url = at_head({
        trev("aaa111", nil), trev("bbb222", "aaa111"), trev("ccc333", "aaa111") })
      assert.version_is(url, { "bbb222", "ccc333" })
      local r = run(dir, "downgrade -1")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: ", r.err)
      assert.matches("bbb222", r.err)
      assert.matches("ccc333", r.err)
      assert.version_is(url, { "bbb222", "ccc333" })
    end)

    it("a revision without downgrade is an error that changes nothing", function()
      local revs = {
        trev("aaa111", nil),
        trev("bbb222", "aaa111", { dn = false }),
        trev("ccc333", "bbb222"),
      }
      local dir, url = at_head(revs)
      local r = run(dir, "downgrade base")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: versions/bbb222_rev.lua: revision bbb222 has " ..
        "no downgrade function, so it cannot be reverted; nothing was changed\n", r.err)
      -- ccc333 could have been reverted, but the run was refused as a whole
      assert.version_is(url, "ccc333")
      assert.same({ "t_aaa111", "t_bbb222", "t_ccc333" }, ttables(url))
      assert.equal(3, #history(url))
      -- above it, downgrading still works
      r = run(dir, "downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
    end)

    it("a downgrade that raises rolls back and keeps the revision applied", function()
      local revs = {
        trev("aaa111", nil),
        rev { id = "bbb222", down = "aaa111",
              up = 'op.create_table("t_bbb222", {"id", "integer"})',
              dn = 'op.drop_table("t_bbb222") error("no way back")' },
      }
      local dir, url = at_head(revs)
      local r = run(dir, "downgrade base")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/bbb222_rev.lua:6: no way back\n", r.err)
      assert.version_is(url, "bbb222")
      assert.same({ "t_aaa111", "t_bbb222" }, ttables(url))
      assert.equal("bbb222 down failed", history(url)[3])
    end)
  end)
end
