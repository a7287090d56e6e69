-- spec/integration/scaffold_run_spec.lua: init, revision and merge write files
-- that load and run against each backend (scaffold_spec.lua covers the files themselves).

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

-- The revision files in dir/versions, sorted.
local function files(dir)
  local t = {}
  local p = io.popen("ls -1 " .. h.quote(dir .. "/versions"))
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  table.sort(t)
  return t
end

for _, backend in ipairs(h.each_backend()) do
  describe("scaffold [" .. backend .. "] #integration #" .. backend, function()
    -- init, then point the config at this backend's database.
    local function init_project()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      local r = run(dir, "init")
      assert.equal(0, r.code, r.err)
      return dir, url
    end

    it("init creates lmigrate.lua and versions/, and refuses to overwrite", function()
      local dir = h.tmpdir()
      local r = run(dir, "init")
      assert.equal(0, r.code, r.err)
      assert.is_true(h.exists(dir .. "/lmigrate.lua"))
      assert.equal(0, os.execute("test -d " .. h.quote(dir .. "/versions")) and 0 or 1)
      local before = h.read(dir .. "/lmigrate.lua")
      -- the generated config loads
      r = run(dir, "heads")
      assert.equal(0, r.code, r.err)
      h.write(dir .. "/lmigrate.lua", "-- mine\n" .. before)
      r = run(dir, "init")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: .*lmigrate.lua already exists", r.err)
      assert.equal("-- mine\n" .. before, h.read(dir .. "/lmigrate.lua"))
    end)

    it("init DIR scaffolds into another directory", function()
      local dir = h.tmpdir()
      local r = run(dir, "init proj")
      assert.equal(0, r.code, r.err)
      assert.is_true(h.exists(dir .. "/proj/lmigrate.lua"))
    end)

    it("revision -m writes <12hex>_<slug>.lua that loads and upgrades", function()
      local dir, url = init_project()
      local r = run(dir, { "revision", "-m", "create users" })
      assert.equal(0, r.code, r.err)
      local f = files(dir)
      assert.equal(1, #f)
      local id = f[1]:match("^(%x+)_create_users%.lua$")
      assert.truthy(id, f[1])
      assert.equal(12, #id)
      assert.equal(id:lower(), id)
      local text = h.read(dir .. "/versions/" .. f[1])
      assert.matches('revision%s*=%s*"' .. id .. '"', text)
      assert.matches('message%s*=%s*"create users"', text)
      -- fill in the upgrade and run it
      text = text:gsub("upgrade = function%(op%)\n",
        'upgrade = function(op)\n    op.create_table("users", {"id", "integer", primary_key = true})\n', 1)
      h.write(dir .. "/versions/" .. f[1], text)
      r = run(dir, { "--url", url, "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      assert.has_table(url, "users")
      assert.version_is(url, id)
      -- the next revision chains onto it
      r = run(dir, { "revision", "-m", "Add e-mail!" })
      assert.equal(0, r.code, r.err)
      f = files(dir)
      assert.equal(2, #f)
      r = run(dir, "heads --json")
      assert.matches('"down_revision":%["' .. id .. '"%]', r.out)
      r = run(dir, { "--url", url, "upgrade", "head" })
      assert.equal(0, r.code, r.err)
    end)

    it("--rev-id sets the id; an invalid one is refused", function()
      local dir = init_project()
      local r = run(dir, { "revision", "-m", "first", "--rev-id", "v001" })
      assert.equal(0, r.code, r.err)
      assert.same({ "v001_first.lua" }, files(dir))
      r = run(dir, { "revision", "-m", "dup", "--rev-id", "v001" })
      assert.equal(1, r.code)
      assert.matches("v001", r.err)
      r = run(dir, { "revision", "-m", "bad", "--rev-id", "no-dash" })
      assert.is_true(r.code == 1 or r.code == 2, r.err)
      assert.matches("^lmigrate: error: ", r.err)
      assert.same({ "v001_first.lua" }, files(dir))
    end)

    it("--head base with --branch-label starts a new branch", function()
      local dir, url = init_project()
      assert.equal(0, run(dir, { "revision", "-m", "main", "--rev-id", "m1" }).code)
      local r = run(dir, { "revision", "-m", "feature", "--rev-id", "f1",
                           "--head", "base", "--branch-label", "feat" })
      assert.equal(0, r.code, r.err)
      r = run(dir, "heads")
      local out = lines(r.out)
      table.sort(out)
      assert.same({ "f1 (feat) (head)", "m1 (head)" }, out)
      -- several heads without --head is an error
      r = run(dir, { "revision", "-m", "which" })
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: the revision graph has 2 heads", r.err)
      assert.matches("--head", r.err, 1, true)
      -- with --head on the label it works
      r = run(dir, { "revision", "-m", "more", "--rev-id", "f2", "--head", "feat@head" })
      assert.equal(0, r.code, r.err)
      r = run(dir, { "--url", url, "upgrade", "feat@head" })
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "f2")
    end)

    it("merge -m x heads joins the heads", function()
      local dir, url = init_project()
      assert.equal(0, run(dir, { "revision", "-m", "a", "--rev-id", "a1" }).code)
      assert.equal(0, run(dir, { "revision", "-m", "b", "--rev-id", "b1", "--head", "base" }).code)
      local r = run(dir, { "merge", "-m", "join them", "heads" })
      assert.equal(0, r.code, r.err)
      r = run(dir, "heads --json")
      assert.matches('"down_revision":%["a1","b1"%]', r.out)
      assert.matches('"message":"join them"', r.out)
      r = run(dir, { "--url", url, "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      assert.equal(1, #h.versions(url))
    end)

    it("revision without -m is a usage error", function()
      local dir = init_project()
      local r = run(dir, "revision")
      assert.equal(2, r.code)
      assert.matches("lmigrate: error: revision: %-m MSG is required\n$", r.err)
      assert.same({}, files(dir))
    end)
  end)
end
