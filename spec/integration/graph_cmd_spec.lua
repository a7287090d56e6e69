-- spec/integration/graph_cmd_spec.lua: `lmigrate graph`: DOT that Graphviz
-- renders (dot -Tsvg, Debian package graphviz), Mermaid, depends_on edges
-- dashed, merge points, heads, and the current revisions highlighted when
-- the database is reachable.

local h = require "helpers"

local rev = h.rev

local function show(r) return r.cmd .. "\n" .. r.out .. r.err end

-- A graph with a branch, a merge and a depends_on edge:
--   aaa111 -> bbb222 -> ddd444 (merge) -> eee555
--          -> ccc333 (label "side") /
--   fff666 (second base), ddd444 depends_on fff666
local function revisions()
  return {
    rev { id = "aaa111", msg = 'the "first" one' },
    rev { id = "bbb222", down = "aaa111" },
    rev { id = "ccc333", down = "aaa111", fields = '  branch_labels = { "side" },' },
    rev { id = "fff666", msg = "other base" },
    rev { id = "ddd444", down = { "bbb222", "ccc333" }, fields = '  depends_on = "fff666",' },
    rev { id = "eee555", down = "ddd444" },
  }
end

-- Render DOT text with Graphviz; returns the SVG (asserts it worked).
local function render(dot)
  local f = os.tmpname()
  h.write(f, dot)
  local r = h.run({ "-Tsvg", f }, { bin = "dot" })
  os.remove(f)
  assert.equal(0, r.code, "dot -Tsvg failed: " .. r.err .. "\n" .. dot)
  assert.equal("", r.err)
  assert.matches("<svg", r.out, 1, true)
  return r.out
end

for _, backend in ipairs(h.each_backend()) do
  describe("graph #" .. backend, function()
    local dir, url

    local function run(args) return h.run(args, { cwd = dir }) end

    before_each(function()
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, revisions(), { config =
        ("return { url = %q, script_location = \"versions\" }\n"):format(url) })
    end)

    it("prints DOT that Graphviz renders, with labels, merge points, heads and dashed depends_on", function()
      local r = run("graph")
      assert.equal(0, r.code, show(r))
      assert.equal("", r.err)
      local svg = render(r.out)
      for _, id in ipairs({ "aaa111", "bbb222", "ccc333", "ddd444", "eee555", "fff666" }) do
        assert.matches(id, svg, 1, true)
      end
      assert.matches('"aaa111" [label="aaa111\\nthe \\"first\\" one"];', r.out, 1, true)
      assert.matches('"ccc333" [label="ccc333\\nrev ccc333\\n(side)"];', r.out, 1, true)
      assert.matches('"ddd444" [label="ddd444\\nrev ddd444", peripheries=2];', r.out, 1, true)
      assert.matches('"eee555" [label="eee555\\nrev eee555", style="rounded,bold"];', r.out, 1, true)
      assert.matches('"bbb222" -> "ddd444";', r.out, 1, true)
      assert.matches('"ccc333" -> "ddd444";', r.out, 1, true)
      assert.matches('"fff666" -> "ddd444" [style=dashed, label="depends_on", fontsize=10];', r.out, 1, true)
      -- the database does not exist: nothing is marked, nothing created
      assert.not_matches("fillcolor", r.out, 1, true)
      if backend == "sqlite" then assert.is_false(h.exists(dir .. "/test.db")) end
    end)

    it("fills the current revisions once the database is at them; --no-db does not look", function()
      assert.equal(0, run("upgrade ccc333").code)
      local r = run("graph")
      assert.equal(0, r.code, show(r))
      render(r.out)
      assert.matches('"ccc333" [label="ccc333\\nrev ccc333\\n(side)", style="rounded,filled", fillcolor="#b7e4b0"];', r.out, 1, true)
      assert.not_matches('"aaa111" [^\n]*fillcolor', r.out)
      r = run("graph --no-db")
      assert.not_matches("fillcolor", r.out, 1, true)
      r = run("graph --format mermaid")
      assert.equal(0, r.code, show(r))
      assert.matches("class r_ccc333 current\n", r.out, 1, true)
    end)

    it("a RANGE limits the nodes and edges", function()
      local r = run("graph --no-db bbb222:eee555")
      assert.equal(0, r.code, show(r))
      render(r.out)
      assert.not_matches('"aaa111"', r.out, 1, true)
      assert.matches('"ddd444" -> "eee555";', r.out, 1, true)
      r = run("graph --no-db eee555:aaa111")
      assert.equal(2, r.code)
      assert.matches("graph eee555:aaa111: ", r.err, 1, true)
    end)

    it("prints a Mermaid flowchart", function()
      local r = run("graph --no-db --format mermaid")
      assert.equal(0, r.code, show(r))
      local lines = {}
      for l in r.out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal("flowchart TD", lines[1])
      assert.matches('  r_aaa111("aaa111<br/>the #quot;first#quot; one")\n', r.out, 1, true)
      assert.matches('  r_ddd444{{"ddd444<br/>rev ddd444"}}\n', r.out, 1, true)
      assert.matches("  r_aaa111 --> r_bbb222\n", r.out, 1, true)
      assert.matches("  r_fff666 -.->|depends_on| r_ddd444\n", r.out, 1, true)
      assert.matches("  class r_eee555 head\n", r.out, 1, true)
    end)
  end)
end

describe("graph usage #sqlite", function()
  it("rejects an unknown format and extra arguments (exit 2)", function()
    local dir = h.project(h.tmpdir(), revisions())
    local r = h.run("graph --format png", { cwd = dir })
    assert.equal(2, r.code)
    assert.matches("graph --format: expected dot or mermaid, got 'png'", r.err, 1, true)
    r = h.run("graph a: b:", { cwd = dir })
    assert.equal(2, r.code)
    assert.matches("one RANGE expected", r.err, 1, true)
    r = h.run("graph -h", { cwd = dir })
    assert.equal(0, r.code)
    assert.matches("lmigrate graph | dot -Tsvg", r.out, 1, true)
  end)
end)
