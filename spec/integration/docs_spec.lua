-- spec/integration/docs_spec.lua: the documentation covers the CLI:
-- every command `lmigrate --help` lists has a section in docs/cli.md, an
-- entry in the man page and examples in `lmigrate help CMD`; the man page
-- documents every exit status and has an EXAMPLES section; the version
-- is the one in the rockspecs that name one.

local h = require "helpers"

local function commands()
  local r = h.run("--help")
  assert.equal(0, r.code)
  local t = {}
  local list = r.out:match("\ncommands:\n(.-)\n\n")
  for line in (list .. "\n"):gmatch("([^\n]*)\n") do
    t[#t + 1] = line:match("^  (%S+)")
  end
  assert.is_true(#t >= 17, "commands found: " .. table.concat(t, " "))
  return t
end

describe("documentation #sqlite", function()
  local man = h.read(h.root .. "/docs/lmigrate.1")
  local cli = h.read(h.root .. "/docs/cli.md")

  it("names every command in docs/cli.md, the man page and help CMD", function()
    for _, c in ipairs(commands()) do
      assert.is_truthy(cli:find("\n###[^\n]*%f[%w]" .. c .. "%f[%W]"), "docs/cli.md: no section for " .. c)
      assert.is_truthy(man:find("\n%.TP\n[^\n]*\\fB" .. c .. "[\\ ]"), "lmigrate.1: no entry for " .. c)
      if c ~= "help" then
        local r = h.run({ "help", c })
        assert.equal(0, r.code, c)
        assert.matches("usage: lmigrate " .. c, r.out, 1, true)
      end
    end
  end)

  it("documents every exit status and has EXAMPLES in the man page", function()
    local section = man:match("%.SH EXIT STATUS\n(.-)\n%.SH")
    for _, code in ipairs({ "0", "1", "2", "3", "4", "130", "143" }) do
      assert.is_truthy(section:find("%f[%d]" .. code .. "%f[%D]"), "exit status " .. code)
    end
    assert.is_truthy(man:find("\n.SH EXAMPLES\n", 1, true))
    local r = h.run({ "-l", h.root .. "/docs/lmigrate.1" }, { bin = "man", env = { MANWIDTH = "80" } })
    assert.equal(0, r.code, r.err)
    assert.equal("", r.err)
  end)

  it("the version of lmigrate --version matches versioned rockspecs", function()
    local v = h.run("--version").out:match("^lmigrate (%S+)\n$")
    assert.is_truthy(v)
    local p = io.popen("ls " .. h.quote(h.root .. "/rockspec"))
    for name in p:lines() do
      local rv = name:match("^lmigrate%-(.-)%-%d+%.rockspec$")
      if rv and rv ~= "scm" then assert.equal(v, rv, name) end
    end
    p:close()
    assert.equal(v, h.read(h.root .. "/lua/lmigrate/init.lua") and
      (function()
        local r = h.run({ "-e", 'package.cpath = "' .. h.root .. '/build/lib/?.so;" .. package.cpath; ' ..
          'io.write(require("lmigrate.core").version)' }, { bin = "lua5.4" })
        return r.out
      end)())
  end)
end)
