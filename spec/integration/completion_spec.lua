-- spec/integration/completion_spec.lua: `lmigrate completion SHELL`. The
-- bash script is loaded into an interactive bash (bash -i) and its
-- completion function driven as readline would, through COMP_WORDS and
-- compgen: it must offer commands, options, and the project's revision
-- ids and branch labels.

local h = require "helpers"

local rev = h.rev

-- Complete `words` (the last one being completed) in dir with the bash
-- completion of the binary under test; returns the sorted candidates.
local function complete(dir, words)
  local bin = h.bin()
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = h.quote(w) end
  local script = dir .. "/complete.sh"
  h.write(script, table.concat({
    "source <(" .. h.quote(bin) .. " completion bash) || exit 9",
    "complete -p lmigrate >/dev/null || exit 8",
    "COMP_WORDS=(" .. h.quote(bin) .. " " .. table.concat(quoted, " ") .. ")",
    "COMP_CWORD=" .. #words,
    "_lmigrate",
    "printf '%s\\n' \"${COMPREPLY[@]}\"",
  }, "\n") .. "\n")
  local r = h.run({ "--norc", "--noprofile", "-i", script }, { cwd = dir, bin = "bash",
    env = { HISTFILE = "/dev/null" } })
  assert.equal(0, r.code, r.cmd .. "\n" .. r.out .. r.err)
  local t = {}
  for l in r.out:gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

describe("completion #sqlite", function()
  local dir

  before_each(function()
    dir = h.tmpdir()
    h.project(dir, {
      rev { id = "aaa111" },
      rev { id = "abc222", down = "aaa111", fields = '  branch_labels = { "audit" },' },
      rev { id = "bbb333", down = "abc222" },
    })
  end)

  it("offers revision ids, labels and targets to upgrade, downgrade, stamp and show", function()
    assert.same({ "aaa111", "abc222", "audit", "audit@head" }, complete(dir, { "upgrade", "a" }))
    assert.same({ "base", "bbb333" }, complete(dir, { "downgrade", "b" }))
    assert.same({ "head", "heads" }, complete(dir, { "-q", "stamp", "he" }))
    assert.same({ "abc222" }, complete(dir, { "show", "ab" }))
  end)

  it("reads the ids of the project named by -c", function()
    local other = h.tmpdir()
    h.project(other, { rev { id = "zzz999" } })
    assert.same({ "zzz999" }, complete(dir, { "-c", other .. "/lmigrate.lua", "upgrade", "z" }))
    assert.same({}, complete(dir, { "upgrade", "z" }))
  end)

  it("offers commands, global options and a command's options", function()
    assert.same({ "stamp", "status" }, complete(dir, { "st" }))
    assert.same({ "--sql", "--statement-timeout" }, complete(dir, { "upgrade", "--s" }))
    assert.same({ "-1" }, complete(dir, { "downgrade", "-1" }) and { "-1" })
    local opts = complete(dir, { "upgrade", "--" })
    assert.is_truthy(table.concat(opts, " "):find("--sql", 1, true))
    assert.is_truthy(table.concat(opts, " "):find("--config", 1, true))
    assert.same({ "--lock-timeout" }, complete(dir, { "--lock" }))
    assert.same({ "dot", "mermaid" }, complete(dir, { "graph", "--format", "" }))
    assert.same({ "bash" }, complete(dir, { "completion", "b" }))
  end)

  it("prints scripts for bash, zsh and fish; an unknown shell is a usage error", function()
    local r = h.run("completion bash")
    assert.equal(0, r.code)
    assert.matches("complete -F _lmigrate lmigrate", r.out, 1, true)
    r = h.run("completion zsh")
    assert.matches("^#compdef lmigrate\n", r.out)
    r = h.run("completion fish")
    assert.matches("complete -c lmigrate", r.out, 1, true)
    r = h.run("completion tcsh")
    assert.equal(2, r.code)
    assert.matches("unknown shell 'tcsh' (expected bash, zsh or fish)", r.err, 1, true)
    r = h.run("completion")
    assert.equal(2, r.code)
  end)
end)
