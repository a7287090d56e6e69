-- spec/integration/upgrade_spec.lua: `lmigrate upgrade` against real databases:
-- ordering, progress lines, idempotence, and every upgrade target form.

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
  describe("upgrade [" .. backend .. "] #integration #" .. backend, function()
    local chain = {
      trev("aaa111", nil, { msg = "one" }),
      trev("bbb222", "aaa111", { msg = "two" }),
      trev("ccc333", "bbb222", { msg = "three" }),
      trev("ddd444", "ccc333", { msg = "four" }),
    }

    it("upgrade head applies every revision in order and says so", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      local out = lines(r.out)
      -- each revision: its start line, then its duration on a line of its own
      assert.equal(8, #out, r.out)
      assert.matches("^Running upgrade  %-> aaa111, one$", out[1])
      assert.matches("^  done in %d+ ms$", out[2])
      assert.matches("^Running upgrade aaa111 %-> bbb222, two$", out[3])
      assert.matches("^  done in %d+ ms$", out[4])
      assert.matches("^Running upgrade bbb222 %-> ccc333, three$", out[5])
      assert.matches("^  done in %d+ ms$", out[6])
      assert.matches("^Running upgrade ccc333 %-> ddd444, four$", out[7])
      assert.matches("^  done in %d+ ms$", out[8])
      assert.same({ "t_aaa111", "t_bbb222", "t_ccc333", "t_ddd444" }, ttables(url))
      assert.version_is(url, "ddd444")
      assert.same({ "aaa111 up applied", "bbb222 up applied",
                    "ccc333 up applied", "ddd444 up applied" }, history(url))
    end)

    it("a second upgrade head applies nothing and says so", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade head").code)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out)
      assert.not_matches("Running upgrade", r.out)
      assert.version_is(url, "ddd444")
      assert.equal(4, #history(url))
    end)

    it("-q silences the progress lines", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "-q upgrade head")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.out)
      assert.version_is(url, "ddd444")
    end)

    it("upgrade +N applies N revisions from the current one", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade +2")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      assert.same({ "t_aaa111", "t_bbb222" }, ttables(url))
      r = run(dir, "upgrade +1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)

    it("upgrade +N past head is an error that changes nothing", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade +1").code)
      local r = run(dir, "upgrade +5")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: .*past head", r.err)
      assert.version_is(url, "aaa111")
    end)

    it("upgrade REV stops at that revision", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade bbb222")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      assert.same({ "t_aaa111", "t_bbb222" }, ttables(url))
    end)

    it("upgrade by an unambiguous prefix", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade cc")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)

    it("an ambiguous prefix is an error listing the candidates", function()
      local dir, url = setup(backend, {
        trev("abc111", nil), trev("abc222", "abc111"), trev("abd333", "abc222") })
      local r = run(dir, "upgrade abc")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: ambiguous revision prefix 'abc'", r.err)
      assert.matches("abc111", r.err)
      assert.matches("abc222", r.err)
      assert.not_matches("abd333", r.err)
      assert.same({}, ttables(url))
    end)

    it("an unknown revision is an error", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade fff999")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: unknown revision 'fff999'; see `lmigrate history` " ..
                   "or `lmigrate heads`\n", r.err)
      assert.version_is(url, {})
    end)

    it("upgrade REV+N", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade aaa111+2")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)

    it("upgrade heads with a single head is upgrade head", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ddd444")
    end)

    it("upgrade label@head and label@+N", function()
      local revs = {
        trev("aaa111", nil, { fields = '  branch_labels = { "core" },' }),
        trev("bbb222", "aaa111"),
        trev("ccc333", "bbb222"),
      }
      local dir, url = setup(backend, revs)
      local r = run(dir, "upgrade core@+1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
      r = run(dir, "upgrade core@+1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      r = run(dir, "upgrade core@head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)

    it("an unknown branch label is an error", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade nope@head")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: unknown branch label 'nope': no branch label " ..
                   "or revision is named so\n", r.err)
      assert.version_is(url, {})
    end)

    it("upgrading to an ancestor of the current revision does nothing and says so", function()
      local dir, url = setup(backend, chain)
      assert.equal(0, run(dir, "upgrade ccc333").code)
      local r = run(dir, "upgrade aaa111")
      assert.equal(0, r.code, r.err)
      assert.matches("Nothing to upgrade", r.out)
      assert.matches("ccc333", r.out)
      assert.version_is(url, "ccc333")
      assert.same({ "t_aaa111", "t_bbb222", "t_ccc333" }, ttables(url))
    end)

    it("a downgrade target given to upgrade is an error", function()
      local dir, url = setup(backend, chain)
      local r = run(dir, "upgrade -1")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: .*downgrade", r.err)
      assert.version_is(url, {})
    end)

    it("op.execute binds $N parameters", function()
      local dir, url = setup(backend, {
        rev { id = "aaa111",
              up = 'op.create_table("kv", {"k", "string(10)", primary_key = true}, {"v", "integer"}) ' ..
                   'op.execute("INSERT INTO kv (k, v) VALUES ($1, $2)", {"it\'s", 42})',
              dn = 'op.drop_table("kv")' } })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.same({ { "it's", "42" } }, h.query(url, "SELECT k, v FROM kv"))
    end)

    it("add_column and create_index change the schema", function()
      local dir, url = setup(backend, {
        trev("aaa111", nil),
        rev { id = "bbb222", down = "aaa111",
              up = 'op.add_column("t_aaa111", {"email", "string(80)", nullable = true}) ' ..
                   'op.create_index("ix_email", "t_aaa111", {"email"})',
              dn = 'op.drop_index("ix_email") op.drop_column("t_aaa111", "email")' } })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.has_column(url, "t_aaa111", "email")
      assert.has_index(url, "ix_email")
      r = run(dir, "downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.has_no_index(url, "ix_email")
      assert.has_no_column(url, "t_aaa111", "email")
    end)
  end)
end
