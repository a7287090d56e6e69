-- spec/integration/usage_spec.lua: command-line usage errors (exit 2) and help.

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
  describe("usage [" .. backend .. "] #integration #" .. backend, function()
    it("an unknown command exits 2 with a suggestion", function()
      local dir = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "upgrad head")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: unknown command 'upgrad' (did you mean 'upgrade'?); " ..
        "see lmigrate --help\n", r.err)
      assert.equal("", r.out)
    end)

    it("a command far from every name gets no suggestion", function()
      local r = run(h.tmpdir(), "frobnicate")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: unknown command 'frobnicate'; see lmigrate --help\n", r.err)
    end)

    it("an unknown global option exits 2", function()
      local dir = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "--bogus heads")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: unknown option '%-%-bogus'", r.err)
    end)

    it("an unknown command option exits 2 and changes nothing", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "upgrade head --frob")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: upgrade: unknown option '--frob'; usage: lmigrate " ..
        "upgrade TARGET [--sql]\n", r.err)
      assert.same({}, h.tables(url))
    end)

    it("a missing TARGET exits 2", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "upgrade")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: upgrade: missing TARGET (e.g. `lmigrate upgrade head`)\n", r.err)
      r = run(dir, "downgrade")
      assert.equal(2, r.code)
      assert.matches("lmigrate downgrade %-1", r.err)
      r = run(dir, "upgrade head base")
      assert.equal(2, r.code)
      assert.matches("one TARGET expected", r.err)
      assert.same({}, h.tables(url))
    end)

    it("no command prints the usage and exits 2", function()
      local r = run(h.tmpdir(), "")
      assert.equal(2, r.code)
      assert.matches("^usage: lmigrate", r.err)
    end)

    it("--help and --version exit 0", function()
      local r = run(h.tmpdir(), "--help")
      assert.equal(0, r.code)
      assert.matches("^usage: lmigrate", r.out)
      for _, c in ipairs({ "upgrade", "downgrade", "current", "history", "stamp", "validate" }) do
        assert.matches("\n  " .. c .. " ", r.out, 1, true)
      end
      r = run(h.tmpdir(), "--version")
      assert.equal(0, r.code)
      assert.matches("^lmigrate %d+%.%d+%.%d+\n$", r.out)
    end)

    it("COMMAND -h works without a config or version directory", function()
      local empty = h.tmpdir()
      for _, c in ipairs({ "upgrade", "downgrade", "current", "history", "heads",
                           "show", "stamp", "validate", "revision", "merge", "init" }) do
        local r = run(empty, { c, "-h" })
        assert.equal(0, r.code, c .. ": " .. r.err)
        assert.matches("^usage: lmigrate " .. c, r.out)
        assert.equal("", r.err)
      end
      -- the scaffold commands print their whole option list
      assert.matches("--branch-label L", run(empty, "merge -h").out, 1, true)
      assert.matches("--version-path DIR   write into", run(empty, "revision -h").out, 1, true)
      assert.matches("--template NAME   scaffold", run(empty, "init -h").out, 1, true)
      -- even with a broken config
      h.write(empty .. "/lmigrate.lua", "this is not lua")
      local r = run(empty, "upgrade --help")
      assert.equal(0, r.code, r.err)
      assert.matches("^usage: lmigrate upgrade TARGET", r.out)
    end)

    it("a bad --lock-timeout is a usage error", function()
      local dir = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "--lock-timeout soon upgrade head")
      assert.equal(2, r.code)
      assert.matches("^lmigrate: error: %-%-lock%-timeout expects seconds", r.err)
    end)

    it("seconds must be a plain decimal from 0 to 86400", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      for _, opt in ipairs({ "--lock-timeout", "--ddl-lock-timeout", "--statement-timeout",
                             "--max-lock-hold" }) do
        for _, bad in ipairs({ "nan", "-nan", "NaN", "inf", " 5", "5 ", "0x10", "1e3",
                               "+5", "-1", "", ".", "86400.5", "5s" }) do
          local r = run(dir, { opt, bad, "upgrade", "head" })
          assert.equal(2, r.code, opt .. " '" .. bad .. "': " .. r.err)
          assert.equal(("lmigrate: error: %s expects seconds (0 to 86400), got '%s'\n")
            :format(opt, bad), r.err)
        end
      end
      assert.same({}, ttables(url))
      for _, good in ipairs({ "0", "5", "0.5", "5.", ".25", "86400" }) do
        local r = run(dir, { "--lock-timeout", good, "heads" })
        assert.equal(0, r.code, good .. ": " .. r.err)
      end
    end)

    it("a global option without its value is named by its long name", function()
      local dir = setup(backend, { trev("aaa111", nil) })
      for _, case in ipairs({ { "--url", "--url" }, { "-u", "--url" }, { "-qu", "--url" },
                              { "--config", "--config" }, { "-c", "--config" },
                              { "--lock-timeout", "--lock-timeout" }, { "-x", "-x" } }) do
        local r = run(dir, { case[1] })
        assert.equal(2, r.code, case[1])
        assert.equal("lmigrate: error: option '" .. case[2] .. "' needs a value; " ..
          "see lmigrate --help\n", r.err)
      end
      local r = run(dir, "--quiet=1 heads")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: option '--quiet' takes no value; see lmigrate --help\n", r.err)
      r = run(dir, "-Z heads")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: unknown option '-Z'; see lmigrate --help\n", r.err)
    end)

    it("-q and -v together are a usage error", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      for _, args in ipairs({ "-q -v upgrade head", "-v -q upgrade head", "-qv upgrade head",
                              "--quiet --verbose upgrade head" }) do
        local r = run(dir, args)
        assert.equal(2, r.code, args)
        assert.equal("lmigrate: error: -q and -v cannot be used together\n", r.err)
        assert.equal("", r.out)
      end
      assert.same({}, ttables(url))
      -- a command's own -v is not the global one
      local r = run(dir, "-q history -v")
      assert.equal(0, r.code, r.err)
    end)

    it("-- ends options so a target may look like one", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      local r = run(dir, "upgrade -- head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
    end)
  end)
end
