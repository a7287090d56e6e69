-- spec/integration/load_errors_spec.lua: revision files that fail to load stop
-- the command with an error naming the file (and line), before anything
-- touches the database: the database file is not even created.

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

-- A raw revision file.
local function file(name, ...)
  return { file = name, text = table.concat({ ... }, "\n") .. "\n" }
end

local good = trev("aaa111", nil)

for _, backend in ipairs(h.each_backend()) do
  describe("load errors [" .. backend .. "] #integration #" .. backend, function()
    -- Run `upgrade head` on a project with revs; expect exit 1 with the
    -- first stderr line matching `want` (a plain string when exact = true).
    local function fails(revs, want, exact)
      local dir, url = setup(backend, revs)
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code, r.out .. r.err)
      local first = lines(r.err)[1] or ""
      if exact then
        assert.equal(want, first)
      else
        assert.matches(want, first)
      end
      assert.equal("", r.out)
      if backend == "sqlite" then
        local _, path = h.parse_db(url)
        assert.is_false(h.exists(path), "the database file was created")
      else
        assert.same({}, h.tables(url))
      end
      return r
    end

    it("a syntax error names file:line", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  revision = "bbb222",',
        '  down_revision = "aaa111"',
        '  upgrade = function(op) end,',
        "}") },
        "^lmigrate: error: versions/bbb222_bad.lua:4: '}' expected %(to close '{' at line 1%) near 'upgrade'$")
    end)

    it("a runtime error in the chunk names file:line", function()
      fails({ good, file("bbb222_bad.lua",
        "local t = nil",
        "local x = t.field",
        "return {}") },
        "^lmigrate: error: versions/bbb222_bad.lua:2: attempt to index a nil value")
    end)

    it("a file that does not return a table", function()
      fails({ good, file("bbb222_bad.lua", "return 42") },
        "lmigrate: error: versions/bbb222_bad.lua: a revision file must return a table (got number)", true)
    end)

    it("a missing revision field", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  down_revision = "aaa111",',
        "  upgrade = function(op) end,",
        "}") },
        "^lmigrate: error: versions/bbb222_bad.lua: missing 'revision'")
    end)

    it("a missing upgrade function", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  revision = "bbb222",',
        '  down_revision = "aaa111",',
        "}") },
        "^lmigrate: error: versions/bbb222_bad.lua: revision 'bbb222' has no upgrade function")
    end)

    it("an illegal character in a revision id", function()
      fails({ good, rev { id = "bbb-222", down = "aaa111", slug = "bad" } },
        "lmigrate: error: versions/bbb-222_bad.lua:2: illegal character '-' in revision id " ..
        "'bbb-222' (use letters, digits and _)", true)
    end)

    it("head, heads and base are reserved as revision ids (file:line)", function()
      for _, id in ipairs({ "head", "heads", "base" }) do
        fails({ good, trev(id, "aaa111") },
          ("lmigrate: error: versions/%s_rev.lua:2: revision id '%s' is reserved " ..
           "(head, heads and base are target words); choose another revision id"):format(id, id),
          true)
      end
    end)

    it("head, heads and base are reserved as branch labels (file:line)", function()
      for _, l in ipairs({ "head", "heads", "base" }) do
        fails({ good, trev("bbb222", "aaa111", { fields = ('  branch_labels = { %q },'):format(l) }) },
          ("lmigrate: error: versions/bbb222_rev.lua:5: branch label '%s' is reserved " ..
           "(head, heads and base are target words); choose another branch label"):format(l),
          true)
      end
    end)

    it("an over-long revision id is about its length, not a character", function()
      local id = ("a"):rep(80)
      fails({ trev(id, nil) },
        "lmigrate: error: versions/" .. id .. "_rev.lua:2: revision id '" .. ("a"):rep(20) ..
        "...' is 80 characters long; the limit is 64", true)
    end)

    it("an over-long branch label is about its length (file:line)", function()
      fails({ trev("aaa111", nil, { fields = ('  branch_labels = { %q },'):format(("b"):rep(70)) }) },
        "lmigrate: error: versions/aaa111_rev.lua:5: branch label '" .. ("b"):rep(20) ..
        "...' is 70 characters long; the limit is 64", true)
    end)

    it("a duplicate id names both files", function()
      local r = fails({ good, trev("aaa111", nil, { slug = "again" }) },
        "^lmigrate: error: duplicate revision id 'aaa111' in ")
      assert.matches("versions/aaa111_again.lua:2", r.err, 1, true)
      assert.matches("versions/aaa111_rev.lua:2", r.err, 1, true)
    end)

    it("an unknown down_revision", function()
      fails({ good, trev("bbb222", "zzz999") },
        "lmigrate: error: versions/bbb222_rev.lua:3: down_revision 'zzz999' of revision " ..
        "'bbb222' is not a known revision", true)
    end)

    it("an unknown depends_on", function()
      fails({ good, trev("bbb222", "aaa111", { fields = '  depends_on = "nope",' }) },
        "^lmigrate: error: versions/bbb222_rev.lua:5: depends_on 'nope' of revision 'bbb222' is not a known")
    end)

    it("a cycle", function()
      local r = fails({ good, trev("bbb222", { "aaa111", "ccc333" }), trev("ccc333", "bbb222") },
        "^lmigrate: error: versions/%w+_rev.lua:3: cycle in revision graph: ")
      assert.matches("bbb222", r.err)
      assert.matches("ccc333", r.err)
    end)

    it("a self-loop", function()
      fails({ good, trev("bbb222", "bbb222") },
        "lmigrate: error: versions/bbb222_rev.lua:3: revision 'bbb222' lists itself in down_revision", true)
    end)

    it("a duplicate branch label names both files", function()
      local r = fails({
        trev("aaa111", nil, { fields = '  branch_labels = { "x" },' }),
        trev("bbb222", nil, { fields = '  branch_labels = { "x" },' }) },
        "^lmigrate: error: duplicate branch label 'x' in ")
      assert.matches("versions/aaa111_rev.lua:5", r.err, 1, true)
      assert.matches("versions/bbb222_rev.lua:5", r.err, 1, true)
    end)

    it("an unknown field suggests the right one", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  revision = "bbb222",',
        '  down_revison = "aaa111",',
        "  upgrade = function(op) end,",
        "}") },
        "lmigrate: error: versions/bbb222_bad.lua:3: unknown field 'down_revison' " ..
        "(did you mean 'down_revision'?)", true)
    end)

    it("a wrong type for a field", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  revision = "bbb222",',
        '  down_revision = 7,',
        "  upgrade = function(op) end,",
        "}") },
        "lmigrate: error: versions/bbb222_bad.lua:3: 'down_revision' must be a string or " ..
        "a list of strings, got number", true)
    end)

    -- Each field error names the line of the field; a wrong type says
    -- which type it got.
    local field_errors = {
      { "  transactional = 1,", "'transactional' must be true or false, got number" },
      { "  downgrad = function(op) end,", "unknown field 'downgrad' (did you mean 'downgrade'?)" },
      { "  message = 42,", "'message' must be a string, got number" },
      { "  create_date = {},", "'create_date' must be a string, got table" },
      { '  depends_on = { "aaa111", 7 },', "'depends_on[2]' must be a string, got number" },
      { '  branch_labels = "a-b",', "illegal character '-' in branch label 'a-b' (use letters, digits and _)" },
      { "  downgrade = 1,", "'downgrade' must be a function, got number" },
      { "  data = true,", "'data' must be a function, got boolean" },
      { '  data_downgrade = "x",', "'data_downgrade' must be a function, got string" },
    }
    for _, c in ipairs(field_errors) do
      it("a field error names file:line: " .. c[2], function()
        fails({ good, file("bbb222_bad.lua",
          "return {",
          '  revision = "bbb222",',
          '  down_revision = "aaa111",',
          c[1],
          "  upgrade = function(op) end,",
          "}") },
          "lmigrate: error: versions/bbb222_bad.lua:4: " .. c[2], true)
      end)
    end

    it("a revision id of the wrong type is not reported as missing", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        "  down_revision = 'aaa111',",
        "  revision = 5,",
        "  upgrade = function(op) end,",
        "}") },
        "lmigrate: error: versions/bbb222_bad.lua:3: 'revision' must be a string, got number " ..
        '(an id such as "3f2a9c1d7b04")', true)
    end)

    it("an upgrade that is not a function names file:line", function()
      fails({ good, file("bbb222_bad.lua",
        "return {",
        '  revision = "bbb222",',
        "  upgrade = 'CREATE TABLE x (id int)',",
        "}") },
        "lmigrate: error: versions/bbb222_bad.lua:3: 'upgrade' must be a function, got string", true)
    end)

    -- A metatable on the returned table is never consulted: it cannot raise
    -- an error outside the protected call (a Lua panic, exit 134 before).
    local meta = "setmetatable(%s, { __index = function() error('meta') end, " ..
                 "__len = function() error('len') end })"

    it("a returned table whose metatable raises is read as plain data", function()
      local r = fails({ good, file("bbb222_meta.lua", "return " .. meta:format("{}")) },
        "lmigrate: error: versions/bbb222_meta.lua: missing 'revision' " ..
        '(a string id such as "3f2a9c1d7b04")', true)
      assert.not_matches("PANIC", r.err, 1, true)
      local dir = setup(backend, { good, file("bbb222_meta.lua", "return " .. meta:format("{}")) })
      r = run(dir, "heads")
      assert.equal(1, r.code, r.err)
      assert.equal("lmigrate: error: versions/bbb222_meta.lua: missing 'revision' " ..
        '(a string id such as "3f2a9c1d7b04")\n', r.err)
    end)

    it("a revision with a raising metatable still runs both ways", function()
      local dir, url = setup(backend, { file("aaa111_meta.lua",
        "return " .. meta:format("{\n" ..
        '  revision = "aaa111",\n' ..
        "  depends_on = " .. meta:format("{}") .. ",\n" ..
        '  upgrade = function(op) op.create_table("t_meta", {"id", "integer"}) end,\n' ..
        '  downgrade = function(op) op.drop_table("t_meta") end,\n}')) })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.has_table(url, "t_meta")
      r = run(dir, "downgrade base")
      assert.equal(0, r.code, r.err)
      assert.has_no_table(url, "t_meta")
    end)

    it("a revision assigning a global names file:line", function()
      fails({ good, file("bbb222_bad.lua",
        "-- helper",
        "x = 1",
        "return {",
        '  revision = "bbb222",',
        "  upgrade = function(op) end,",
        "}") },
        "lmigrate: error: versions/bbb222_bad.lua:2: revision assigned global 'x'; use local", true)
    end)

    it("a revision reading an unknown global while loading names it", function()
      fails({ good, file("bbb222_bad.lua",
        "local util = requir('x')",
        "return {}") },
        "lmigrate: error: versions/bbb222_bad.lua:1: unknown global 'requir'", true)
    end)

    it("read-only commands refuse too, without a database", function()
      local dir = setup(backend, { good, trev("bbb222", "zzz999") })
      local r = run(dir, "heads")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: versions/bbb222_rev.lua:3: down_revision 'zzz999'", r.err)
    end)

    it("a missing version directory is a clear error", function()
      local dir = h.tmpdir()
      h.write(dir .. "/lmigrate.lua", 'return { url = "sqlite:x.db", script_location = "nowhere" }\n')
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: version location 'nowhere' cannot be read", r.err)
      assert.is_false(h.exists(dir .. "/x.db"))
    end)

    it("standard libraries stay usable from revisions", function()
      local dir, url = setup(backend, { file("aaa111_std.lua",
        "local name = string.format('t_%s', 'std')",
        "return {",
        '  revision = "aaa111",',
        "  upgrade = function(op)",
        '    op.create_table(name, {"id", "integer", primary_key = true})',
        "    assert(math.floor(2.5) == 2)",
        "  end,",
        "}") })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.has_table(url, "t_std")
    end)
  end)
end
