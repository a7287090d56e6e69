-- spec/integration/branches_spec.lua: branches, merges and depends_on:
-- the version table holds exactly the current heads (Alembic row algebra).

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
  describe("branches and merges [" .. backend .. "] #integration #" .. backend, function()
    --        / bbb222 (label "left")
    -- aaa111
    --        \ ccc333 (label "right") - ccc444
    local forked = {
      trev("aaa111", nil),
      trev("bbb222", "aaa111", { fields = '  branch_labels = { "left" },' }),
      trev("ccc333", "aaa111", { fields = '  branch_labels = { "right" },' }),
      trev("ccc444", "ccc333"),
    }
    local merged = {
      forked[1], forked[2], forked[3], forked[4],
      trev("mmm555", { "bbb222", "ccc444" }, { msg = "merge" }),
    }

    it("upgrade head with two heads fails suggesting heads or label@head", function()
      local dir, url = setup(backend, forked)
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: multiple heads %(", r.err)
      assert.matches("bbb222", r.err)
      assert.matches("ccc444", r.err)
      assert.matches("'heads'", r.err)
      assert.matches("label@head", r.err)
      assert.version_is(url, {})
      assert.same({}, ttables(url))
    end)

    it("upgrade heads gives two version rows", function()
      local dir, url = setup(backend, forked)
      local r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222", "ccc444" })
      assert.equal(4, #ttables(url))
    end)

    it("one branch at a time with label@head; the other row is kept", function()
      local dir, url = setup(backend, forked)
      local r = run(dir, "upgrade left@head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      assert.same({ "t_aaa111", "t_bbb222" }, ttables(url))
      r = run(dir, "upgrade right@+1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222", "ccc333" })
      r = run(dir, "upgrade right@head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222", "ccc444" })
    end)

    it("a merge revision collapses the heads into one row", function()
      local dir, url = setup(backend, merged)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "mmm555")
      assert.equal(5, #ttables(url))
      assert.matches("Running upgrade bbb222, ccc444 %-> mmm555, merge", r.out)
    end)

    it("upgrading two heads to their merge uses one row", function()
      local dir, url = setup(backend, merged)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      assert.equal(0, run(dir, "upgrade ccc444").code)
      assert.version_is(url, { "bbb222", "ccc444" })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "mmm555")
    end)

    it("downgrading the merge gives two rows back", function()
      local dir, url = setup(backend, merged)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222", "ccc444" })
      assert.has_no_table(url, "t_mmm555")
      -- then one branch alone
      r = run(dir, "downgrade right@-1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222", "ccc333" })
      -- a branch reverted to the branch point leaves one row
      r = run(dir, "downgrade right@-1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      r = run(dir, "downgrade base")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, {})
      assert.same({}, ttables(url))
    end)

    it("downgrade to the branch point reverts both branches", function()
      local dir, url = setup(backend, forked)
      assert.equal(0, run(dir, "upgrade heads").code)
      local r = run(dir, "downgrade aaa111")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
      assert.same({ "t_aaa111" }, ttables(url))
    end)

    it("depends_on applies the dependency on the other branch first", function()
      -- two independent roots; ddd222 depends on xxx111 on the other one
      local revs = {
        trev("aaa111", nil, { fields = '  branch_labels = { "app" },' }),
        trev("ddd222", "aaa111", { fields = '  depends_on = "xxx111",' }),
        trev("xxx111", nil, { fields = '  branch_labels = { "lib" },' }),
        trev("xxx222", "xxx111"),
      }
      local dir, url = setup(backend, revs)
      local r = run(dir, "upgrade app@head")
      assert.equal(0, r.code, r.err)
      assert.same({ "t_aaa111", "t_ddd222", "t_xxx111" }, ttables(url))
      assert.has_no_table(url, "t_xxx222")
      -- the order: xxx111 ran before ddd222
      local out = r.out
      local p1 = out:find("-> xxx111", 1, true)
      local p2 = out:find("-> ddd222", 1, true)
      assert.truthy(p1 and p2 and p1 < p2, out)
      -- Alembic keeps ddd222 as a head row; xxx111 is covered by the dependency
      local v = h.versions(url)
      assert.truthy(#v >= 1 and #v <= 2, table.concat(v, ","))
      r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "ddd222", "xxx222" })
      -- reverting the dependency reverts what depends on it
      r = run(dir, "downgrade lib@base")
      assert.equal(0, r.code, r.err)
      assert.has_no_table(url, "t_xxx111")
      assert.has_no_table(url, "t_ddd222")
      assert.has_table(url, "t_aaa111")
      assert.version_is(url, "aaa111")
    end)
  end)
end
