-- spec/integration/inspect_spec.lua: the read-only commands (current, heads,
-- branches, show, history) and their --json output; none writes anything.

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

-- A small JSON decoder (objects, arrays, strings with simple escapes,
-- numbers, true/false/null -> nil) for the --json output.
local function json(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == "" then error("unterminated string in: " .. s) end
      if c == '"' then pos = pos + 1 break end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local map = { n = "\n", t = "\t", r = "\r", b = "\b", f = "\f" }
        if e == "u" then
          out[#out + 1] = utf8.char(tonumber(s:sub(pos + 2, pos + 5), 16))
          pos = pos + 6
        else
          out[#out + 1] = map[e] or e
          pos = pos + 2
        end
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
    return table.concat(out)
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1 return t end
      repeat
        ws()
        local k = str()
        ws()
        assert(s:sub(pos, pos) == ":", "':' expected in " .. s)
        pos = pos + 1
        t[k] = value()
        ws()
        c = s:sub(pos, pos)
        pos = pos + 1
      until c ~= ","
      assert(c == "}", "'}' expected in " .. s)
      return t
    elseif c == "[" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1 return t end
      repeat
        t[#t + 1] = value()
        ws()
        c = s:sub(pos, pos)
        pos = pos + 1
      until c ~= ","
      assert(c == "]", "']' expected in " .. s)
      return t
    elseif c == '"' then
      return str()
    end
    for lit, v in pairs({ ["true"] = true, ["false"] = false, null = json }) do
      if s:sub(pos, pos + #lit - 1) == lit then
        pos = pos + #lit
        if v == json then return nil end
        return v
      end
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    assert(num and num ~= "", "bad JSON at " .. pos .. ": " .. s)
    pos = pos + #num
    return tonumber(num)
  end
  local v = value()
  ws()
  assert(pos > #s, "trailing data in JSON: " .. s)
  return v
end

for _, backend in ipairs(h.each_backend()) do
  describe("read-only commands [" .. backend .. "] #integration #" .. backend, function()
    --        / bbb222 (label "left") -----------\
    -- aaa111                                     mmm444
    --        \ ccc333 (label "right") ----------/
    local revs = {
      trev("aaa111", nil, { msg = "create a" }),
      trev("bbb222", "aaa111", { msg = "left side", fields = '  branch_labels = { "left" },' }),
      trev("ccc333", "aaa111", { msg = "right side", fields = '  branch_labels = { "right" },' }),
      trev("mmm444", { "bbb222", "ccc333" }, { msg = "merge it" }),
    }

    -- A fresh database: on SQLite an empty file (a missing one is an error
    -- for these commands; see missing_db_spec.lua).
    local function fresh()
      local dir, url = setup(backend, revs)
      if backend == "sqlite" then h.write(select(2, h.parse_db(url)), "") end
      return dir, url
    end

    it("current on a fresh database prints nothing and creates nothing", function()
      local dir, url = fresh()
      local r = run(dir, "current")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.out)
      assert.equal("", r.err)
      assert.same({}, h.tables(url))
      r = run(dir, "current --json")
      assert.equal(0, r.code, r.err)
      assert.same({}, json(r.out))
      assert.same({}, h.tables(url))
    end)

    it("validate and history -i on a fresh database create nothing", function()
      local dir, url = fresh()
      assert.equal(0, run(dir, "validate").code)
      assert.equal(0, run(dir, "history -i").code)
      assert.same({}, h.tables(url))
    end)

    it("current shows the heads the database is at", function()
      local dir, url = setup(backend, { revs[1], revs[2], revs[3] })
      assert.equal(0, run(dir, "upgrade heads").code)
      local r = run(dir, "current")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      table.sort(out)
      assert.same({ "bbb222 (head)", "ccc333 (head)" }, out)
      r = run(dir, "current --json")
      local t = json(r.out)
      assert.equal(2, #t)
      local ids = { t[1].revision, t[2].revision }
      table.sort(ids)
      assert.same({ "bbb222", "ccc333" }, ids)
      -- a merge revision arrives
      h.write(dir .. "/versions/" .. revs[4].file, revs[4].text)
      r = run(dir, "current")
      assert.equal(0, r.code, r.err)
      out = lines(r.out)
      table.sort(out)
      assert.same({ "bbb222", "ccc333" }, out)
      assert.equal(0, run(dir, "upgrade head").code)
      r = run(dir, "current")
      assert.equal("mmm444 (head) (mergepoint)\n", r.out)
      r = run(dir, "current -v")
      assert.matches("^Rev: mmm444 %(head%) %(mergepoint%)\n", r.out)
      assert.matches("\nMerges: bbb222, ccc333\n", r.out)
      assert.matches("merge it", r.out)
      assert.version_is(url, "mmm444")
    end)

    it("heads lists every head; --json parses", function()
      local dir = setup(backend, { revs[1], revs[2], revs[3] })
      local r = run(dir, "heads")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      table.sort(out)
      -- Alembic's heads: the id first, for scripts
      assert.same({ "bbb222 (left) (head)", "ccc333 (right) (head)" }, out)
      r = run(dir, "heads --json")
      assert.equal(0, r.code, r.err)
      local t = json(r.out)
      assert.equal(2, #t)
      for _, e in ipairs(t) do
        assert.is_true(e.head)
        assert.same({ "aaa111" }, e.down_revision)
        assert.matches("^versions/", e.path)
      end
      r = run(dir, "heads -v")
      assert.matches("Rev: bbb222 %(head%)", r.out)
      assert.matches("Branch names: left", r.out)
    end)

    it("heads needs no database", function()
      local dir = setup(backend, revs, { config = "return { url = 'sqlite:/nonexistent/dir/x.db' }\n" })
      local r = run(dir, "heads")
      assert.equal(0, r.code, r.err)
      assert.equal("mmm444 (head)\n", r.out)
    end)

    it("branches shows the branch points and where they lead", function()
      local dir = setup(backend, revs)
      local r = run(dir, "branches")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      -- Alembic's branches: the branch point, its children, a blank line
      assert.equal("aaa111 (branchpoint)", out[1])
      assert.equal(4, #out, r.out)
      local kids = { out[2], out[3] }
      table.sort(kids)
      assert.same({ "       -> bbb222 (left)", "       -> ccc333 (right)" }, kids)
      r = run(dir, "branches -v")
      assert.matches("^Rev: aaa111 %(branchpoint%)\n", r.out)
      assert.matches("\n       %-> bbb222 %(left%), left side\n", r.out)
    end)

    it("show REV prints one revision; show head; an unknown one is an error", function()
      local dir = setup(backend, revs)
      local r = run(dir, "show bbb")
      assert.equal(0, r.code, r.err)
      assert.matches("^Rev: bbb222\n", r.out)
      assert.matches("\nParent: aaa111\n", r.out)
      assert.matches("\nBranch names: left\n", r.out)
      assert.matches("\nPath: versions/bbb222_rev.lua\n", r.out)
      assert.matches("left side", r.out)
      r = run(dir, "show aaa111")
      assert.matches("Branches into: ", r.out)
      r = run(dir, "show head")
      assert.equal(0, r.code, r.err)
      assert.matches("^Rev: mmm444 %(head%) %(mergepoint%)", r.out)
      r = run(dir, "show zzz")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: unknown revision 'zzz'; see `lmigrate history` " ..
                   "or `lmigrate heads`\n", r.err)
      r = run(dir, "show")
      assert.equal(2, r.code)
    end)

    it("history lists newest first", function()
      local dir = setup(backend, revs)
      local r = run(dir, "history")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      assert.equal(4, #out)
      assert.equal("bbb222, ccc333 -> mmm444 (head) (mergepoint), merge it", out[1])
      assert.equal("<base> -> aaa111 (branchpoint), create a", out[4])
      r = run(dir, "history --json")
      local t = json(r.out)
      assert.equal(4, #t)
      assert.equal("mmm444", t[1].revision)
      assert.equal("aaa111", t[4].revision)
      assert.same({}, t[4].down_revision)
      assert.equal("create a", t[4].message)
    end)

    it("history -r A:B limits the range; A: and :B are open", function()
      local dir = setup(backend, revs)
      local function ids(range)
        local r = run(dir, { "history", "-r", range })
        assert.equal(0, r.code, r.err)
        local t = {}
        for _, l in ipairs(lines(r.out)) do t[#t + 1] = l:match("-> (%w+)") end
        return t
      end
      assert.same({ "bbb222", "aaa111" }, ids("aaa111:bbb222"))
      assert.same({ "mmm444", "bbb222" }, ids("bbb222:"))
      assert.same({ "bbb222", "aaa111" }, ids(":bbb222"))
      local r = run(dir, "history -r nonsense")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: ", r.err)
    end)

    it("history -v prints blocks", function()
      local dir = setup(backend, revs)
      local r = run(dir, "history -v -r aaa111:aaa111")
      assert.equal(0, r.code, r.err)
      assert.matches("^Rev: aaa111 %(branchpoint%)\nParent: <base>\n", r.out)
      assert.matches("Path: versions/aaa111_rev.lua", r.out)
    end)

    it("history -i marks the current revision", function()
      local dir = setup(backend, revs)
      assert.equal(0, run(dir, "upgrade bbb222").code)
      local r = run(dir, "history -i")
      assert.equal(0, r.code, r.err)
      local out = lines(r.out)
      -- like Alembic: the revision the database is at, not its ancestors
      local marked = {}
      for _, l in ipairs(out) do
        if l:find("(current)", 1, true) then marked[#marked + 1] = l:match("-> (%w+)") end
      end
      assert.same({ "bbb222" }, marked)
      r = run(dir, "history -r current:")
      assert.equal(0, r.code, r.err)
      assert.matches("mmm444", r.out)
      r = run(dir, "history -i --json")
      local t = json(r.out)
      for _, e in ipairs(t) do
        assert.equal(e.revision == "bbb222", e.current, e.revision)
      end
    end)

    it("unknown options and stray arguments are usage errors", function()
      local dir = setup(backend, revs)
      local r = run(dir, "heads --bogus")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: heads: unknown option '--bogus'; see lmigrate heads -h\n", r.err)
      assert.equal(2, run(dir, "current extra").code)
      assert.equal(2, run(dir, "history extra").code)
    end)
  end)
end
