-- spec/integration/stamp_validate_spec.lua: stamp sets the version table
-- without running scripts; validate compares applied checksums with files.

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
  describe("stamp [" .. backend .. "] #integration #" .. backend, function()
    local chain = { trev("aaa111", nil), trev("bbb222", "aaa111"), trev("ccc333", "bbb222") }

    it("stamp head writes the version row without running scripts", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "stamp head")
      assert.equal(0, r.code, r.err)
      assert.matches("Stamped ccc333", r.out)
      assert.version_is(url, "ccc333")
      assert.same({}, ttables(url))
      assert.same({ "ccc333 up stamped" }, history(url))
      r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out)
    end)

    it("stamp REV then upgrade runs only what is above it", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "stamp bbb222").code)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.same({ "t_ccc333" }, ttables(url))
      assert.version_is(url, "ccc333")
    end)

    it("stamp base empties the version table", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "stamp base")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, {})
      -- the schema is left alone
      assert.equal(3, #ttables(url))
    end)

    it("stamp of an unknown revision is an error", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "stamp zzz999")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: unknown revision 'zzz999'; see `lmigrate history` " ..
                   "or `lmigrate heads`\n", r.err)
      assert.version_is(url, {})
    end)

    it("stamp --purge replaces a version table naming an unknown revision", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      h.query(url, "UPDATE lmigrate_version SET version_num = 'gone99'")
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: the version table names revision 'gone99'", r.err)
      assert.matches("stamp --purge", r.err, 1, true)
      r = run(dir, "stamp bbb222")
      assert.equal(1, r.code)
      assert.version_is(url, "gone99")
      r = run(dir, "stamp --purge bbb222")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)

    it("stamp one branch keeps the other branch's row", function()
      local dir, url = setup(backend, {
        trev("aaa111", nil), trev("bbb222", "aaa111"), trev("ccc333", nil) })
      assert.equal(0, run(dir, "stamp ccc333").code)
      assert.equal(0, run(dir, "stamp bbb222").code)
      assert.version_is(url, { "bbb222", "ccc333" })
      assert.equal(0, run(dir, "stamp aaa111").code)
      assert.version_is(url, { "aaa111", "ccc333" })
    end)

    it("stamp backwards warns, naming the revisions marked not applied", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "stamp aaa111")
      assert.equal(0, r.code, r.err)
      assert.equal("lmigrate: warning: stamp aaa111 marks 2 applied revisions as not " ..
        "applied: ccc333, bbb222; stamp runs no downgrade, so their changes stay in " ..
        "the database (`lmigrate downgrade aaa111` reverts them)\n", r.err)
      -- it still does what it was told
      assert.version_is(url, "aaa111")
      assert.equal(3, #ttables(url))
      -- forwards, or to where it already is: no warning
      r = run(dir, "stamp head")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      r = run(dir, "stamp head")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
    end)

    it("stamp forward keeps the old head's checksum for validate", function()
      local dir = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      assert.equal(0, run(dir, "stamp ccc333").code)
      h.write(dir .. "/versions/bbb222_rev.lua", chain[2].text .. "-- edited\n")
      local r = run(dir, "validate")
      assert.equal(1, r.code)
      assert.matches("revision bbb222 changed after it was applied", r.err, 1, true)
    end)

    it("stamp heads writes every head, however many", function()
      local revs = {}
      for i = 1, 70 do revs[i] = trev(("r%03d"):format(i), nil) end
      local dir, url = setup(backend, revs)
      local r = run(dir, "stamp heads")
      assert.equal(0, r.code, r.err)
      assert.equal(70, #h.versions(url))
      r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out, 1, true)
      r = run(dir, "stamp base")
      assert.equal(0, r.code)
      assert.version_is(url, {})
      assert.matches("marks 70 applied revisions as not applied: r070, ", r.err, 1, true)
    end)

    it("stamp needs a TARGET", function()
      local dir = setup(backend, chain)
      local r = run(dir, "stamp")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: stamp: missing TARGET", r.err)
    end)
  end)

  describe("validate [" .. backend .. "] #integration #" .. backend, function()
    local chain = { trev("aaa111", nil), trev("bbb222", "aaa111"), trev("ccc333", "bbb222") }

    it("is OK after an upgrade", function()
      local dir = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "validate")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      assert.matches("^OK", r.out)
    end)

    it("names an applied file that was edited and exits 1", function()
      local dir = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      h.write(dir .. "/versions/aaa111_rev.lua", chain[1].text .. "-- edited\n")
      -- an unapplied file may change freely
      h.write(dir .. "/versions/ccc333_rev.lua", chain[3].text .. "-- edited\n")
      local r = run(dir, "validate")
      assert.equal(1, r.code)
      local err = lines(r.err)
      assert.equal(2, #err, r.err)
      assert.matches("^lmigrate: error: versions/aaa111_rev.lua: revision aaa111 changed after it was applied", err[1])
      assert.matches("^lmigrate: error: validate found 1 problem%(s%), above: restore changed files", err[2])
      assert.not_matches("ccc333", r.err)
    end)

    it("upgrade warns about an edited applied file but goes on", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      h.write(dir .. "/versions/bbb222_rev.lua", chain[2].text .. "-- edited\n")
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("^lmigrate: warning: versions/bbb222_rev.lua: revision bbb222 changed after it was applied", r.err)
      assert.version_is(url, "ccc333")
    end)

    it("upgrade with nothing to do still warns about an edited applied file", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      h.write(dir .. "/versions/aaa111_rev.lua", chain[1].text .. "-- edited\n")
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out, 1, true)
      assert.matches("^lmigrate: warning: versions/aaa111_rev.lua: revision aaa111 changed after it was applied", r.err)
      assert.version_is(url, "ccc333")
    end)

    it("a reverted revision's old checksum does not count", function()
      local dir = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      assert.equal(0, run(dir, "downgrade -1").code)
      h.write(dir .. "/versions/ccc333_rev.lua", chain[3].text .. "-- edited\n")
      local r = run(dir, "validate")
      assert.equal(0, r.code, r.err)
      assert.equal(0, run(dir, "upgrade head").code)
      assert.equal(0, run(dir, "validate").code)
    end)

    it("stamped revisions are validated too", function()
      local dir = setup(backend, chain)
      assert.equal(0, run(dir, "stamp ccc333").code)
      h.write(dir .. "/versions/ccc333_rev.lua", chain[3].text .. "-- edited\n")
      local r = run(dir, "validate")
      assert.equal(1, r.code)
      assert.matches("ccc333", r.err)
    end)
  end)
end
