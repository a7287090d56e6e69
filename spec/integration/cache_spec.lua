-- spec/integration/cache_spec.lua: the revision metadata cache. Unchanged
-- revision files are not compiled (their metadata comes from
-- $XDG_CACHE_HOME/lmigrate/*.cache) until a function of theirs is needed;
-- any change to a file is noticed; nothing about the output changes.
-- `-v` prints "revision cache: N files unchanged, M compiled".

local h = require "helpers"

local lit = h.lit

-- A revision creating table t_<id> (and dropping it on downgrade).
-- r.fields: extra raw lines; r.body: replaces the whole file text.
local function rev(r)
  local text = r.body or table.concat({
    "return {",
    "  revision = " .. lit(r.id) .. ",",
    "  down_revision = " .. lit(r.down) .. ",",
    "  message = " .. lit(r.msg or ("rev " .. r.id)) .. ",",
    r.fields or "",
    ('  upgrade = function(op) op.create_table("t_%s", {"id", "integer", primary_key = true}) end,'):format(r.id),
    ('  downgrade = function(op) op.drop_table("t_%s") end,'):format(r.id),
    "}",
  }, "\n") .. "\n"
  return { file = r.id .. "_rev.lua", text = text }
end

-- Files written within the same timestamp tick as a run are not cached
-- yet (they could change again unnoticed): let the clock move on.
local function settle() os.execute("sleep 0.05") end

local function Q(s) return h.quote(s) end

-- A project in a fresh directory with its own cache directory.
local function setup(revs, opts)
  opts = opts or {}
  local dir, cache = h.tmpdir(), h.tmpdir()
  h.project(dir, revs)
  settle()
  return { dir = dir, cache = cache, db = dir .. "/test.db" }
end

local function run(p, args, env)
  local e = { XDG_CACHE_HOME = p.cache, LMIGRATE_NO_CACHE = "" }
  for k, v in pairs(env or {}) do e[k] = v end
  return h.run(args, { cwd = p.dir, env = e })
end

-- "N files unchanged, M compiled" from a -v run, as two numbers.
local function cache_line(res)
  local n, m = res.err:match("revision cache: (%d+) files unchanged, (%d+) compiled")
  return tonumber(n), tonumber(m)
end

local function write_rev(p, r)
  h.write(p.dir .. "/versions/" .. r.file, r.text)
  settle()
end

local function cache_files(p)
  local f = io.popen("ls " .. Q(p.cache .. "/lmigrate") .. " 2>/dev/null")
  local out = {}
  for line in f:lines() do out[#out + 1] = line end
  f:close()
  return out
end

local function sh(cmd)
  assert(os.execute(cmd), cmd)
end

describe("revision cache #integration #sqlite", function()
  it("the second run takes the metadata from the cache", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" } })
    local first = run(p, "-v history")
    assert.equal(0, first.code, first.err)
    assert.same({ 0, 2 }, { cache_line(first) })
    local files = cache_files(p)
    assert.equal(1, #files)
    assert.matches("^%x+%.cache$", files[1])
    local second = run(p, "-v history")
    assert.equal(0, second.code, second.err)
    assert.same({ 2, 0 }, { cache_line(second) })
    assert.equal(first.out, second.out)
    assert.matches("a1 %-> b2 %(head%), rev b2", second.out)
    -- nothing is written into the project
    local f = io.popen("ls -A " .. Q(p.dir) .. " " .. Q(p.dir .. "/versions"))
    local listing = f:read("a")
    f:close()
    assert.not_matches("cache", listing)
  end)

  it("gives the same output as an uncached run for every field", function()
    local p = setup({
      rev{ id = "a1", msg = "first\nline \"two\" \\ caf\195\169 end",
           fields = '  create_date = "2026-01-02 03:04:05",\n  branch_labels = { "core" },' },
      rev{ id = "b2", down = "a1", fields = "  transactional = false," },
      rev{ id = "c3", down = "a1", msg = "" },
      rev{ id = "d4", down = { "b2", "c3" }, fields = '  depends_on = "c3",' },
      rev{ body = 'return { revision = "e5", down_revision = "d4", upgrade = function(op) end }\n',
           id = "e5" },
    })
    local cmds = { "history --verbose", "heads --verbose", "branches --verbose",
                   "show a1", "show b2", "show d4", "show e5", "history --json",
                   "heads --json" }
    run(p, "history")
    local cached = run(p, "-v history")
    assert.same({ 5, 0 }, { cache_line(cached) })
    for _, c in ipairs(cmds) do
      local want = run(p, c, { LMIGRATE_NO_CACHE = "1" })
      local got = run(p, c)
      assert.equal(0, want.code, want.err)
      assert.equal(want.out, got.out, c)
      assert.equal(want.err, got.err, c)
    end
  end)

  it("notices an edited file and uses its new metadata", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" } })
    run(p, "history")
    write_rev(p, rev{ id = "b2", down = "a1", msg = "a longer message" })
    local res = run(p, "-v history")
    assert.same({ 1, 1 }, { cache_line(res) })
    assert.matches("a longer message", res.out)
    res = run(p, "-v history")
    assert.same({ 2, 0 }, { cache_line(res) })
    assert.matches("a longer message", res.out)
  end)

  it("notices a same-size edit even with the old mtime put back", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1", msg = "before" } })
    run(p, "history")
    local f = p.dir .. "/versions/b2_rev.lua"
    sh("cp -p " .. Q(f) .. " " .. Q(p.dir .. "/ref"))
    write_rev(p, rev{ id = "b2", down = "a1", msg = "after!" })
    sh("touch -r " .. Q(p.dir .. "/ref") .. " " .. Q(f))
    settle()
    local res = run(p, "-v history")
    assert.same({ 1, 1 }, { cache_line(res) })
    assert.matches("after!", res.out)
  end)

  it("a touched file is compiled again", function()
    local p = setup({ rev{ id = "a1" } })
    run(p, "history")
    sh("touch -d '2020-01-01 00:00:00' " .. Q(p.dir .. "/versions/a1_rev.lua"))
    settle()
    assert.same({ 0, 1 }, { cache_line(run(p, "-v history")) })
    assert.same({ 1, 0 }, { cache_line(run(p, "-v history")) })
  end)

  it("a syntax error introduced after caching stops the command before the database", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" } })
    assert.equal(0, run(p, "history").code)
    write_rev(p, rev{ id = "b2", body = "return {\n  revision = 'b2',\n  oops oops\n}\n" })
    local res = run(p, "upgrade head")
    assert.equal(1, res.code)
    assert.matches("versions/b2_rev.lua:3:", res.err)
    assert.is_false(h.exists(p.db), "the database file was created")
    -- and the broken file was not cached
    res = run(p, "-v history")
    assert.equal(1, res.code)
    assert.matches("versions/b2_rev.lua:3:", res.err)
  end)

  it("notices deleted and added files", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" },
                      rev{ id = "c3", down = "b2" } })
    run(p, "history")
    os.remove(p.dir .. "/versions/c3_rev.lua")
    local res = run(p, "-v history")
    assert.same({ 2, 0 }, { cache_line(res) })
    assert.matches("a1 %-> b2 %(head%)", res.out)
    assert.not_matches("c3", res.out)
    write_rev(p, rev{ id = "d4", down = "b2" })
    res = run(p, "-v history")
    assert.same({ 2, 1 }, { cache_line(res) })
    assert.matches("b2 %-> d4 %(head%)", res.out)
    -- a duplicate id in a new file is still an error
    write_rev(p, { file = "zz_dup.lua", text = rev{ id = "a1" }.text })
    res = run(p, "history")
    assert.equal(1, res.code)
    assert.matches("a1", res.err)
  end)

  it("upgrade and downgrade compile the cached revisions they run", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" } })
    run(p, "history")
    local res = run(p, "-v upgrade head")
    assert.equal(0, res.code, res.err)
    assert.same({ 2, 0 }, { cache_line(res) })
    assert.has_table(p.db, "t_a1")
    assert.has_table(p.db, "t_b2")
    assert.version_is(p.db, "b2")
    res = run(p, "current")
    assert.equal(0, res.code, res.err)
    assert.matches("b2 %(head%)", res.out)
    res = run(p, "validate")
    assert.equal(0, res.code, res.err)
    res = run(p, "-v downgrade base")
    assert.equal(0, res.code, res.err)
    assert.same({ 2, 0 }, { cache_line(res) })
    assert.has_no_table(p.db, "t_a1")
    assert.has_no_table(p.db, "t_b2")
  end)

  it("a runtime error in a cached revision's upgrade names file:line", function()
    local p = setup({ rev{ id = "a1", body = table.concat({
      "return {",
      "  revision = 'a1',",
      "  upgrade = function(op)",
      "    error('boom')",
      "  end,",
      "}", "" }, "\n") } })
    run(p, "history")
    local res = run(p, "-v upgrade head")
    assert.same({ 1, 0 }, { cache_line(res) })
    assert.equal(1, res.code)
    assert.matches("versions/a1_rev.lua:4: boom", res.err)
  end)

  it("a revision whose top level reads a global is never cached", function()
    local p = setup({
      rev{ id = "a1" },
      rev{ id = "b2", body = table.concat({
        "return {",
        "  revision = 'b2', down_revision = 'a1',",
        "  message = os.getenv('LM_SPEC_MSG') or 'unset',",
        "  upgrade = function(op) end,",
        "}", "" }, "\n") },
    })
    local res = run(p, "-v history", { LM_SPEC_MSG = "one" })
    assert.matches("one", res.out)
    res = run(p, "-v history", { LM_SPEC_MSG = "two" })
    assert.same({ 1, 1 }, { cache_line(res) })
    assert.matches("two", res.out)
  end)

  it("LMIGRATE_NO_CACHE=1 neither reads nor writes the cache", function()
    local p = setup({ rev{ id = "a1" } })
    local res = run(p, "-v history", { LMIGRATE_NO_CACHE = "1" })
    assert.equal(0, res.code, res.err)
    assert.is_nil(cache_line(res))
    assert.same({}, cache_files(p))
    run(p, "history")
    assert.equal(1, #cache_files(p))
    res = run(p, "-v history", { LMIGRATE_NO_CACHE = "1" })
    assert.is_nil(cache_line(res))
    assert.matches("a1 %(head%)", res.out)
  end)

  it("an unusable cache directory or a corrupt cache file is silent", function()
    local p = setup({ rev{ id = "a1" } })
    local notdir = h.write(p.cache .. "/file", "x")
    local res = run(p, "history", { XDG_CACHE_HOME = notdir })
    assert.equal(0, res.code)
    assert.equal("", res.err)
    assert.matches("a1 %(head%)", res.out)
    -- a relative XDG_CACHE_HOME is ignored (XDG spec): $HOME/.cache is used
    res = run(p, "-v history", { XDG_CACHE_HOME = "rel", HOME = p.cache })
    assert.equal(0, res.code, res.err)
    assert.is_false(h.exists(p.dir .. "/rel"))
    assert.is_true(os.execute("test -d " .. Q(p.cache .. "/.cache/lmigrate")))
    -- empty HOME and XDG_CACHE_HOME: no cache, no error
    res = run(p, "history", { XDG_CACHE_HOME = "", HOME = "" })
    assert.equal(0, res.code)
    assert.equal("", res.err)
    -- garbage in the cache file: recompiled and rewritten
    run(p, "history")
    local name = cache_files(p)[1]
    for _, junk in ipairs({ "", "garbage", ("\255"):rep(4096) }) do
      h.write(p.cache .. "/lmigrate/" .. name, junk)
      res = run(p, "-v history")
      assert.equal(0, res.code, res.err)
      assert.same({ 0, 1 }, { cache_line(res) })
      assert.matches("a1 %(head%)", res.out)
      assert.same({ 1, 0 }, { cache_line(run(p, "-v history")) })
    end
  end)

  it("a file that changed after its metadata was cached is refused before the first write", function()
    local p = setup({ rev{ id = "a1" }, rev{ id = "b2", down = "a1" } })
    run(p, "history")
    -- Forge a stale entry: the cache claims another checksum for the
    -- unchanged file (what a same-size edit within one timestamp tick
    -- would look like).
    local f = assert(io.popen("sha256sum " .. Q(p.dir .. "/versions/b2_rev.lua")))
    local sum = f:read("a"):match("^(%x+)")
    f:close()
    local path = p.cache .. "/lmigrate/" .. cache_files(p)[1]
    local data = h.read(path)
    local s, e = data:find(sum, 1, true)
    assert.truthy(s, "checksum not found in the cache file")
    h.write(path, data:sub(1, s - 1) .. ("0"):rep(64) .. data:sub(e + 1))
    assert.same({ 2, 0 }, { cache_line(run(p, "-v history")) })
    local res = run(p, "upgrade head")
    assert.equal(1, res.code)
    assert.equal("lmigrate: error: versions/b2_rev.lua changed while lmigrate was " ..
                 "running; run the command again\n", res.err)
    -- nothing was applied, not even a1: the planned files compile first
    assert.has_no_table(p.db, "t_a1")
    assert.same({}, h.versions(p.db))
    -- the stale cache is gone: the next run reads every file again
    res = run(p, "-v upgrade head")
    assert.equal(0, res.code, res.err)
    assert.same({ 0, 2 }, { cache_line(res) })
    assert.has_table(p.db, "t_b2")
  end)
end)
