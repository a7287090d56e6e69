-- graph_spec.lua: the revision graph (src/graph.c, src/graph_plan.c) through
-- lmigrate.core.graph: heads/bases, every target form both ways, the
-- step_heads algebra, ranges, labels, dependencies, and every build and
-- planning error.
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

local G = require "helpers.graph"
local rev, sorted, assert_order = G.rev, G.sorted, G.assert_order

-- Plan, then apply step_heads per step; returns the final heads and steps.
local function run(g, heads, target, dir)
  local steps = g:plan(heads, target, dir)
  local h = heads
  for _, id in ipairs(steps) do h = g:step_heads(h, id, dir) end
  return sorted(h), steps
end


local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("graph #unit", function()

  describe("linear chain", function()
    local g
    before_each(function()
      g = core.graph { rev("aaa"), rev("bbb", "aaa"), rev("ccc", "bbb"),
                       rev("ddd", "ccc"), rev("eee", "ddd") }
    end)

    it("has one head and one base", function()
      assert.same({ "eee" }, g:heads())
      assert.same({ "aaa" }, g:bases())
      assert.same({}, g:branchpoints())
      assert.same({}, g:mergepoints())
      assert.equal(5, g:count())
      assert.same({ "ddd" }, g:children("ccc"))
      assert.same({ "bbb" }, g:parents("ccc"))
    end)

    it("finds ids and prefixes", function()
      assert.equal("ccc", g:find("ccc"))
      assert.equal("ccc", g:find("c"))
      assert.matches("unknown revision 'zzz'", errmsg(g.find, g, "zzz"))
    end)

    it("upgrades to head, heads, an id, a prefix", function()
      assert.same({ "aaa", "bbb", "ccc", "ddd", "eee" }, g:plan({}, "head", "up"))
      assert.same({ "aaa", "bbb", "ccc", "ddd", "eee" }, g:plan({}, "heads", "up"))
      assert.same({ "aaa", "bbb", "ccc" }, g:plan({}, "ccc", "up"))
      assert.same({ "ccc", "ddd" }, g:plan({ "bbb" }, "d", "up"))
    end)

    it("upgrades relatively: +N from nothing, from the head, ID+N", function()
      assert.same({ "aaa", "bbb" }, g:plan({}, "+2", "up"))
      assert.same({ "ccc", "ddd" }, g:plan({ "bbb" }, "+2", "up"))
      assert.same({ "aaa", "bbb", "ccc", "ddd" }, g:plan({}, "bbb+2", "up"))
      assert.same({ "aaa" }, g:plan({}, "base+1", "up"))
    end)

    it("treats base and ancestors of current as nothing to do", function()
      assert.same({}, g:plan({}, "base", "up"))
      assert.same({}, g:plan({ "eee" }, "ccc", "up"))
      assert.same({}, g:plan({ "eee" }, "head", "up"))
    end)

    it("refuses to go past head", function()
      assert.matches("relative upgrade %+5 goes past head eee %(only 3 revisions above bbb%)",
        errmsg(g.plan, g, { "bbb" }, "+5", "up"))
      assert.matches("relative upgrade %+6 goes past head eee %(only 5 revisions above base%)",
        errmsg(g.plan, g, {}, "+6", "up"))
      assert.matches("goes past head", errmsg(g.plan, g, {}, "ddd+2", "up"))
    end)

    it("downgrades to base, an id, -N, ID-N", function()
      assert.same({ "eee", "ddd", "ccc", "bbb", "aaa" }, g:plan({ "eee" }, "base", "down"))
      assert.same({ "eee", "ddd", "ccc" }, g:plan({ "eee" }, "bbb", "down"))
      assert.same({}, g:plan({ "eee" }, "eee", "down"))
      assert.same({ "eee", "ddd" }, g:plan({ "eee" }, "-2", "down"))
      assert.same({ "eee", "ddd", "ccc", "bbb", "aaa" }, g:plan({ "eee" }, "-5", "down"))
      assert.same({ "eee", "ddd" }, g:plan({ "eee" }, "eee-2", "down"))
      assert.same({ "ddd", "ccc" }, g:plan({ "ddd" }, "ddd-2", "down"))
      assert.same({}, g:plan({}, "base", "down"))
    end)

    it("refuses relative downgrades past base and unapplied targets", function()
      assert.matches("relative downgrade %-6 goes past base %(only 5 applied%); use 'base'",
        errmsg(g.plan, g, { "eee" }, "-6", "down"))
      assert.matches("relative downgrade %-3 goes past base %(only 2 applied%)",
        errmsg(g.plan, g, { "bbb" }, "-3", "down"))
      assert.matches("cannot downgrade to ddd: it is not applied %(current heads: bbb%)",
        errmsg(g.plan, g, { "bbb" }, "ddd", "down"))
      assert.matches("no revision is applied", errmsg(g.plan, g, {}, "-1", "down"))
      assert.matches("goes past base", errmsg(g.plan, g, { "eee" }, "bbb-3", "down"))
    end)

    it("rejects targets for the other direction and bad steps", function()
      assert.matches("downgrade target", errmsg(g.plan, g, {}, "-1", "up"))
      assert.matches("upgrade target", errmsg(g.plan, g, { "eee" }, "+1", "down"))
      assert.matches("invalid upgrade target '+x': N in +N must be a whole number",
        errmsg(g.plan, g, {}, "+x", "up"), 1, true)
      assert.matches("invalid upgrade target '+0': N in +N must be a whole number",
        errmsg(g.plan, g, {}, "+0", "up"), 1, true)
      assert.matches("unknown revision 'zzz'", errmsg(g.plan, g, {}, "zzz", "up"))
    end)

    it("resolves targets", function()
      assert.same({ "eee" }, g:resolve("head"))
      assert.same({ "eee" }, g:resolve("heads"))
      assert.same({}, g:resolve("base"))
      assert.same({ "ddd" }, g:resolve("ccc+1"))
      assert.same({ "aaa" }, g:resolve("ccc-2"))
      assert.same({ "ccc" }, g:resolve("head-2"))
      assert.same({ "bbb" }, g:resolve("b"))
      -- one step below a base is base (Alembic's _walk); a second is an error
      assert.same({}, g:resolve("aaa-1"))
      assert.same({}, g:resolve("ccc-3"))
      assert.matches("goes past base %(ccc%-3 is already base%)", errmsg(g.resolve, g, "ccc-4"))
    end)

    it("walks up to head and back down to base through step_heads", function()
      local h, steps = run(g, {}, "head", "up")
      assert.same({ "eee" }, h)
      assert.equal(5, #steps)
      h = run(g, h, "-2", "down")
      assert.same({ "ccc" }, h)
      h = run(g, h, "+1", "up")
      assert.same({ "ddd" }, h)
      h = run(g, h, "base", "down")
      assert.same({}, h)
    end)

    it("selects history ranges newest first", function()
      assert.same({ "eee", "ddd", "ccc", "bbb", "aaa" }, g:range({}, ":"))
      assert.same({ "ddd", "ccc", "bbb" }, g:range({}, "bbb:ddd"))
      assert.same({ "eee", "ddd", "ccc" }, g:range({}, "ccc:"))
      assert.same({ "bbb", "aaa" }, g:range({}, ":bbb"))
      -- current:END lists what is pending, not the current revision
      assert.same({ "eee", "ddd" }, g:range({ "ccc" }, "current:"))
      assert.same({ "eee", "ddd" }, g:range({ "ccc" }, "current:head"))
      assert.same({}, g:range({ "eee" }, "current:head"))
      assert.same({ "eee", "ddd", "ccc", "bbb", "aaa" }, g:range({}, "current:head"))
      -- relative ends: START -N below the heads, END +N above START
      assert.same({ "ddd", "ccc", "bbb" }, g:range({}, "bbb:+2"))
      assert.same({ "eee", "ddd", "ccc" }, g:range({}, "-2:"))
      assert.same({ "ddd", "ccc" }, g:range({}, "-2:ddd"))
      assert.same({ "bbb", "aaa" }, g:range({}, ":+2"))
      assert.same({ "ccc", "bbb", "aaa" }, g:range({ "ccc" }, ":current"))
      assert.same({ "eee", "ddd", "ccc", "bbb", "aaa" }, g:range({}, "base:heads"))
      assert.same({ "eee" }, g:range({}, "head:head"))
      assert.same({}, g:range({}, ":base"))
      assert.matches("expected START:END, START: or :END", errmsg(g.range, g, {}, "bbb"))
    end)
  end)

  -- base0 <- trunk1 <- x1 [x] <- x2
  --                 <- y1 [y] <- y2
  local function branchy(extra)
    local t = { rev("base0"), rev("trunk1", "base0"),
                rev("x1", "trunk1", { labels = { "x" } }), rev("x2", "x1"),
                rev("y1", "trunk1", { labels = { "y" } }), rev("y2", "y1") }
    for _, r in ipairs(extra or {}) do t[#t + 1] = r end
    return core.graph(t)
  end

  describe("a branch (two heads)", function()
    local g
    before_each(function() g = branchy() end)

    it("has two heads and a branch point", function()
      assert.same({ "x2", "y2" }, sorted(g:heads()))
      assert.same({ "base0" }, g:bases())
      assert.same({ "trunk1" }, g:branchpoints())
      assert.same({}, g:mergepoints())
    end)

    it("applies labels along the chain above the labelled revision", function()
      assert.same({ "x" }, g:labels("x1"))
      assert.same({ "x" }, g:labels("x2"))
      assert.same({ "y" }, g:labels("y2"))
      assert.same({}, g:labels("trunk1"))
      assert.same({}, g:labels("base0"))
    end)

    it("refuses 'head' with several heads", function()
      assert.matches("multiple heads %(x2, y2%); use 'heads' or 'label@head'",
        errmsg(g.plan, g, {}, "head", "up"))
      assert.matches("multiple heads", errmsg(g.resolve, g, "head"))
    end)

    it("upgrades to heads and to one branch", function()
      local steps = g:plan({}, "heads", "up")
      assert.same({ "base0", "trunk1", "x1", "x2", "y1", "y2" }, sorted(steps))
      assert_order(g, steps, "up")
      assert.same({ "base0", "trunk1", "x1", "x2" }, g:plan({}, "x@head", "up"))
      assert.same({ "y1", "y2" }, g:plan({ "x2" }, "y@head", "up"))
      assert.same({ "x1" }, g:plan({ "trunk1" }, "x@x1", "up"))
    end)

    it("upgrades label@+N from the branch head or the branch base", function()
      assert.same({ "x1" }, g:plan({ "trunk1" }, "x@+1", "up"))
      -- from nothing, x@+N counts from base along x's lineage (Alembic)
      assert.same({ "base0", "trunk1" }, g:plan({}, "x@+2", "up"))
      assert.same({ "base0", "trunk1", "x1" }, g:plan({}, "x@+3", "up"))
      assert.same({ "x2" }, g:plan({ "x1", "y2" }, "x@+1", "up"))
      assert.same({ "y2" }, g:plan({ "x1", "y1" }, "y@+1", "up"))
      assert.same({ "base0" }, g:plan({}, "x@base+1", "up"))
      assert.same({ "base0", "trunk1", "x1" }, g:plan({}, "x@base+3", "up"))
      assert.matches("goes past head x2", errmsg(g.plan, g, { "x1" }, "x@+2", "up"))
    end)

    it("refuses +N at a branch point and with several current heads", function()
      assert.matches("relative upgrade %+3 is ambiguous at branch point trunk1 %(children x1, y1%)",
        errmsg(g.plan, g, {}, "+3", "up"))
      assert.matches("several current heads %(x1, y1%); use 'label@%+1'",
        errmsg(g.plan, g, { "x1", "y1" }, "+1", "up"))
    end)

    it("refuses a revision not on the named branch", function()
      assert.matches("revision x2 is not on branch 'y'", errmsg(g.plan, g, {}, "y@x2", "up"))
      assert.matches("unknown branch label 'zz'", errmsg(g.plan, g, {}, "zz@head", "up"))
    end)

    it("refuses ID+N across a branch point and takes label@ID downward", function()
      assert.matches("ambiguous at branch point trunk1", errmsg(g.plan, g, {}, "base0+2", "up"), 1, true)
      assert.same({ "x2" }, g:plan({ "x2", "y2" }, "x@x1", "down"))
      assert.same({ "y2", "y1" }, g:plan({ "x2", "y2" }, "y@-2", "down"))
    end)

    it("resolves label@head and label@base", function()
      assert.same({ "x2" }, g:resolve("x@head"))
      -- label@base is base; label@base+N counts from the lineage's root
      assert.same({}, g:resolve("x@base"))
      assert.same({ "trunk1" }, g:resolve("x@base+2"))
      assert.same({ "x2" }, g:resolve("x@base+4"))
      assert.same({ "y1" }, g:resolve("y"))
    end)

    it("downgrades one branch: label@-N, label@base, an id", function()
      assert.matches("relative downgrade %-1 is ambiguous with several current heads %(x2, y2%); use 'label@%-1'",
        errmsg(g.plan, g, { "x2", "y2" }, "-1", "down"))
      assert.same({ "x2" }, g:plan({ "x2", "y2" }, "x@-1", "down"))
      local h = run(g, { "x2", "y2" }, "x@-1", "down")
      assert.same({ "x1", "y2" }, h)
      -- x@base: every root on x's lineage and all that builds on it
      h = run(g, { "x2", "y2" }, "x@base", "down")
      assert.same({}, h)
      h = run(g, { "x2", "y2" }, "x@base+2", "down")
      assert.same({ "y2" }, h)
      local steps
      h, steps = run(g, { "x2", "y2" }, "trunk1", "down")
      assert.same({ "trunk1" }, h)
      assert.same({ "x1", "x2", "y1", "y2" }, sorted(steps))
      assert_order(g, steps, "down")
      assert.matches("no revision of branch 'x' is applied",
        errmsg(g.plan, g, { "y2" }, "x@-1", "down"))
    end)

    it("walks up both branches and back down with step_heads", function()
      local h = run(g, {}, "x@head", "up")
      assert.same({ "x2" }, h)
      h = run(g, h, "y@+1", "up")
      assert.same({ "x2", "y1" }, h)
      h = run(g, h, "heads", "up")
      assert.same({ "x2", "y2" }, h)
      h = run(g, h, "y@-2", "down")
      assert.same({ "x2" }, h)
      h = run(g, h, "x@-2", "down")
      assert.same({ "trunk1" }, h)
      h = run(g, { "x2", "y2" }, "base", "down")
      assert.same({}, h)
    end)

    it("selects ranges across branches", function()
      assert.same({ "x2", "x1", "trunk1" }, g:range({}, "trunk1:x2"))
      local all = g:range({}, "trunk1:")
      assert.same({ "trunk1", "x1", "x2", "y1", "y2" }, sorted(all))
      assert.equal("trunk1", all[#all])
      assert.same({ "y2", "y1", "trunk1", "base0" }, g:range({}, "y@base:y@head"))
    end)
  end)

  describe("a merge", function()
    local g
    before_each(function()
      g = branchy { rev("m", { "x2", "y2" }), rev("after", "m") }
    end)

    it("has one head and a merge point", function()
      assert.same({ "after" }, g:heads())
      assert.same({ "m" }, g:mergepoints())
      assert.same({ "trunk1" }, g:branchpoints())
      assert.same({}, g:labels("m"))
    end)

    it("upgrades through the merge", function()
      local steps = g:plan({}, "head", "up")
      assert.equal(8, #steps)
      assert_order(g, steps, "up")
      local h
      h, steps = run(g, { "x2" }, "head", "up")
      assert.same({ "y1", "y2", "m", "after" }, steps)
      assert.same({ "after" }, h)
      assert.same({ "m" }, g:plan({ "x2", "y2" }, "m", "up"))
      assert.same({ "after" }, g:plan({ "m" }, "+1", "up"))
      assert.same({ "after" }, g:plan({ "x2", "y2" }, "x@head", "up") and g:resolve("x@head"))
    end)

    it("step_heads joins heads at the merge and splits them going down", function()
      local h = g:step_heads({ "x2", "y2" }, "m", "up")
      assert.same({ "m" }, h)
      h = g:step_heads(h, "m", "down")
      assert.same({ "x2", "y2" }, h)
      h = run(g, { "after" }, "x2", "down")
      assert.same({ "x2", "y2" }, h)
      h = run(g, { "after" }, "y1", "down")
      assert.same({ "x2", "y1" }, h)
    end)

    it("downgrades -N but not past the merge point", function()
      assert.same({ "after" }, g:plan({ "after" }, "-1", "down"))
      assert.same({ "after", "m" }, g:plan({ "after" }, "-2", "down"))
      assert.matches("relative downgrade %-3 passes merge point m; name a revision",
        errmsg(g.plan, g, { "after" }, "-3", "down"))
      assert.matches("merge point m", errmsg(g.resolve, g, "m-1"))
    end)

    it("downgrades to base and back to nothing", function()
      local h, steps = run(g, { "after" }, "base", "down")
      assert.same({}, h)
      assert.equal(8, #steps)
      assert_order(g, steps, "down")
    end)

    it("selects a range through the merge", function()
      assert.same({ "m", "x2", "x1" }, g:range({}, "x1:m"))
    end)
  end)

  -- app1 <- app2 (depends_on lib) <- app3 ; lib1 [lib] <- lib2
  describe("depends_on across branches", function()
    local g
    before_each(function()
      g = core.graph { rev("app1"), rev("app2", "app1", { deps = { "lib" } }),
                       rev("app3", "app2"),
                       rev("lib1", nil, { labels = { "lib" } }), rev("lib2", "lib1") }
    end)

    it("resolves a label dependency to the labelled revision", function()
      assert.same({ "lib1" }, g:deps("app2"))
      assert.same({ "app1", "lib1" }, sorted(g:bases()))
      assert.same({ "app3", "lib2" }, sorted(g:heads()))
    end)

    it("applies dependencies first and keeps heads only", function()
      local h, steps = run(g, {}, "app2", "up")
      assert.same({ "app1", "app2", "lib1" }, sorted(steps))
      assert_order(g, steps, "up")
      assert.same({ "app2" }, h)
      assert.same({}, g:plan(h, "lib1", "up"))
      h = run(g, h, "lib@head", "up")
      assert.same({ "app2", "lib2" }, h)
    end)

    it("downgrading a dependency removes its dependents first", function()
      local steps = g:plan({ "app2", "lib1" }, "lib@base", "down")
      assert.same({ "app2", "lib1" }, steps)
      local h = run(g, { "app2", "lib1" }, "lib@base", "down")
      assert.same({ "app1" }, h)
      -- app2 only depends on lib1, which stays: nothing to take down
      assert.same({}, g:plan({ "app2" }, "lib1", "down"))
      assert.same({ "app2" }, g:plan({ "app2" }, "app1", "down"))
      h = run(g, { "app3", "lib2" }, "base", "down")
      assert.same({}, h)
    end)

    it("re-adds a dependency nothing else covers when its dependent goes", function()
      assert.same({ "app1", "lib1" }, g:step_heads({ "app2" }, "app2", "down"))
    end)

    it("can depend on a revision id", function()
      local g2 = core.graph { rev("a1"), rev("b1"), rev("a2", "a1", { deps = { "b1" } }) }
      assert.same({ "a1", "b1", "a2" }, g2:plan({}, "a2", "up"))
    end)
  end)

  describe("errors", function()
    it("names an unknown parent and its file", function()
      assert.matches("versions/b_x.lua: down_revision 'zzz' of revision 'bbb' is not a known revision",
        errmsg(core.graph, { rev("aaa"), rev("bbb", "zzz", { path = "versions/b_x.lua" }) }), 1, true)
    end)

    it("names an unknown dependency", function()
      assert.matches("versions/bbb.lua: depends_on 'nope' of revision 'bbb' is not a known revision",
        errmsg(core.graph, { rev("aaa"), rev("bbb", "aaa", { deps = { "nope" } }) }), 1, true)
    end)

    it("refuses a self-loop", function()
      assert.matches("versions/aaa.lua: revision 'aaa' lists itself in down_revision",
        errmsg(core.graph, { rev("aaa", "aaa") }), 1, true)
      assert.matches("lists itself in depends_on",
        errmsg(core.graph, { rev("aaa", nil, { deps = { "aaa" } }) }), 1, true)
    end)

    it("names the revisions on a cycle", function()
      local e = errmsg(core.graph, { rev("root"), rev("aaa", "ccc"), rev("bbb", "aaa"),
                                     rev("ccc", "bbb"), rev("ddd", "ccc") })
      assert.matches("cycle in revision graph", e, 1, true)
      assert.matches("aaa", e, 1, true)
      assert.matches("bbb", e, 1, true)
      assert.matches("ccc", e, 1, true)
      assert.is_nil(e:find("ddd", 1, true))
      e = errmsg(core.graph, { rev("aaa", "bbb"), rev("bbb", nil, { deps = { "aaa" } }) })
      assert.matches("cycle", e, 1, true)
    end)

    it("names both files of a duplicate id", function()
      assert.matches("duplicate revision id 'aaa' in versions/one.lua and versions/two.lua",
        errmsg(core.graph, { rev("aaa", nil, { path = "versions/one.lua" }),
                             rev("aaa", nil, { path = "versions/two.lua" }) }), 1, true)
    end)

    it("names both files of a duplicate branch label", function()
      assert.matches("duplicate branch label 'x' in versions/aaa.lua and versions/bbb.lua",
        errmsg(core.graph, { rev("aaa", nil, { labels = { "x" } }),
                             rev("bbb", "aaa", { labels = { "x" } }) }), 1, true)
    end)

    it("refuses a label equal to a revision id", function()
      assert.matches("versions/bbb.lua: branch label 'aaa' of revision 'bbb' is also a revision id",
        errmsg(core.graph, { rev("aaa"), rev("bbb", "aaa", { labels = { "aaa" } }) }), 1, true)
    end)

    it("refuses an invalid id", function()
      assert.matches("invalid revision id", errmsg(core.graph, { rev("a-b") }), 1, true)
    end)

    it("lists the candidates of an ambiguous prefix", function()
      local g = core.graph { rev("ab12"), rev("ab34", "ab12"), rev("cd56", "ab34") }
      assert.matches("ambiguous revision prefix 'ab' matches ab12, ab34", errmsg(g.find, g, "ab"), 1, true)
      assert.matches("ambiguous revision prefix 'ab'", errmsg(g.plan, g, {}, "ab", "up"), 1, true)
      assert.matches("ambiguous revision prefix 'ab'", errmsg(g.plan, g, { "cd56" }, "ab", "down"), 1, true)
      assert.equal("ab34", g:find("ab3"))
      assert.same({ "ab12", "ab34" }, g:plan({}, "ab3", "up"))
    end)

    it("refuses a label head with several heads", function()
      local g = branchy { rev("x3", "x1") }
      assert.matches("branch 'x' has several heads", errmsg(g.resolve, g, "x@head"), 1, true)
    end)
  end)

  describe("names: reserved words and limits", function()
    it("refuses head, heads and base as revision ids, naming the file", function()
      for _, id in ipairs({ "head", "heads", "base" }) do
        assert.matches(("versions/%s.lua: revision id '%s' is reserved (head, heads and " ..
                        "base are target words); choose another revision id"):format(id, id),
          errmsg(core.graph, { rev("aaa"), rev(id, "aaa") }), 1, true)
      end
    end)

    it("refuses them as branch labels", function()
      for _, l in ipairs({ "head", "heads", "base" }) do
        assert.matches(("versions/bbb.lua: branch label '%s' is reserved"):format(l),
          errmsg(core.graph, { rev("aaa"), rev("bbb", "aaa", { labels = { l } }) }), 1, true)
      end
    end)

    it("compares them case-sensitively, as targets are", function()
      local g = core.graph { rev("Head"), rev("BASE", "Head", { labels = { "Heads" } }) }
      assert.same({ "BASE" }, g:heads())
      assert.same({ "Head" }, g:resolve("Head"))
      assert.same({ "BASE" }, g:resolve("head"))
    end)

    it("gives an over-long label's length, not a bad character", function()
      local long = ("b"):rep(70)
      local e = errmsg(core.graph, { rev("aaa", nil, { labels = { long } }) })
      assert.matches("versions/aaa.lua: branch label '" .. ("b"):rep(20) ..
                     "...' is 70 characters long; the limit is 64", e, 1, true)
      assert.is_nil(e:find("illegal character", 1, true))
      assert.same({ "aaa" }, core.graph { rev("aaa", nil, { labels = { ("b"):rep(64) } }) }:heads())
    end)

    it("refuses target punctuation in a label", function()
      for _, l in ipairs({ "a@b", "a:b", "a+b", "a-b" }) do
        assert.matches(("illegal character '%s' in branch label '%s'"):format(l:sub(2, 2), l),
          errmsg(core.graph, { rev("aaa", nil, { labels = { l } }) }), 1, true)
      end
      assert.matches("empty branch label",
        errmsg(core.graph, { rev("aaa", nil, { labels = { "" } }) }), 1, true)
    end)
  end)

  describe("target syntax", function()
    local g
    before_each(function()
      g = core.graph { rev("aaa"), rev("bbb", "aaa", { labels = { "feature" } }),
                       rev("ccc", "bbb") }
    end)

    it("names what is wrong with a malformed target and lists the valid forms", function()
      local cases = {
        { "+abc", "N in +N must be a whole number, 1 or more" },
        { "++1", "N in +N must be a whole number, 1 or more" },
        { "+0", "N in +N must be a whole number, 1 or more" },
        { "bbb+x", "N in +N must be a whole number, 1 or more" },
        { "@head", "no branch label before '@'" },
        { "feature@", "nothing after '@'" },
        { "a@b@c", "more than one '@'" },
        { "heads+1", "heads takes no +N or -N" },
        { "base-1", "nothing is below base" },
        { "a:b", "a revision id, prefix or branch label is 1 to 64 of A-Z a-z 0-9 _" },
        { ("a"):rep(65), "a revision id, prefix or branch label is 1 to 64" },
      }
      for _, c in ipairs(cases) do
        local e = errmsg(g.plan, g, {}, c[1], "up")
        assert.matches(("invalid upgrade target '%s': %s"):format(c[1], c[2]), e, 1, true)
        assert.matches("; upgrade targets are head, heads, REV, REV+N, REV-N, +N, LABEL@head", e, 1, true)
      end
      assert.matches("invalid downgrade target '-x': N in -N must be a whole number",
        errmsg(g.plan, g, { "ccc" }, "-x", "down"), 1, true)
      assert.matches("; downgrade targets are base, REV, REV-N, -N, LABEL@-N",
        errmsg(g.plan, g, { "ccc" }, "-x", "down"), 1, true)
      assert.matches("invalid target 'a:b'", errmsg(g.resolve, g, "a:b"), 1, true)
      assert.matches("empty upgrade target", errmsg(g.plan, g, {}, "", "up"), 1, true)
    end)

    it("points a relative target for the other direction at the right command", function()
      assert.matches("'-1' is a downgrade target: use `lmigrate downgrade -1`",
        errmsg(g.plan, g, {}, "-1", "up"), 1, true)
      assert.matches("'feature@-1' is a downgrade target",
        errmsg(g.plan, g, {}, "feature@-1", "up"), 1, true)
      assert.matches("'+1' is an upgrade target: use `lmigrate upgrade +1`",
        errmsg(g.plan, g, { "ccc" }, "+1", "down"), 1, true)
      assert.matches("relative target '+1' needs the current heads",
        errmsg(g.resolve, g, "+1"), 1, true)
    end)

    it("keeps every documented form", function()
      assert.same({ "aaa", "bbb" }, g:plan({}, "bbb", "up"))
      assert.same({ "aaa" }, g:plan({}, "base+1", "up"))
      assert.same({ "aaa", "bbb" }, g:plan({}, "ccc-1", "up"))
      assert.same({ "aaa", "bbb", "ccc" }, g:plan({}, "feature@head", "up"))
      assert.same({ "aaa", "bbb" }, g:plan({}, "feature", "up"))
      assert.same({ "aaa", "bbb" }, g:plan({}, "feature@bbb", "up"))
      assert.same({ "aaa", "bbb" }, g:plan({}, "head-1", "up"))
      assert.same({ "ccc" }, g:plan({ "ccc" }, "feature@-1", "down"))
      assert.same({ "ccc", "bbb", "aaa" }, g:plan({ "ccc" }, "feature@base", "down"))
      assert.same({ "ccc", "bbb" }, g:plan({ "ccc" }, "feature@base+1", "down"))
      assert.same({ "ccc", "bbb" }, g:plan({ "ccc" }, "aaa", "down"))
      assert.same({ "ccc" }, g:resolve("heads"))
    end)
  end)

  describe("unknown revisions", function()
    local g
    before_each(function()
      g = core.graph { rev("aaa"), rev("bbb", "aaa", { labels = { "feature" } }) }
    end)

    it("suggest the nearest target word", function()
      assert.matches("unknown revision 'haed' (did you mean 'head'?)",
        errmsg(g.plan, g, {}, "haed", "up"), 1, true)
      assert.matches("unknown revision 'Head' (did you mean 'head'?)",
        errmsg(g.plan, g, {}, "Head", "up"), 1, true)
      assert.matches("unknown revision 'bsae' (did you mean 'base'?)",
        errmsg(g.plan, g, { "bbb" }, "bsae", "down"), 1, true)
      assert.matches("unknown revision 'haeds' (did you mean 'heads'?)",
        errmsg(g.find, g, "haeds"), 1, true)
    end)

    it("suggest the nearest branch label", function()
      assert.matches("unknown revision 'featrue' (did you mean 'feature'?)",
        errmsg(g.plan, g, {}, "featrue", "up"), 1, true)
      assert.matches("unknown branch label 'featur' (did you mean 'feature'?)",
        errmsg(g.plan, g, {}, "featur@head", "up"), 1, true)
      assert.matches("unknown branch label 'zzzzzz': no branch label or revision is named so",
        errmsg(g.plan, g, {}, "zzzzzz@head", "up"), 1, true)
    end)

    it("otherwise point to history and heads", function()
      assert.matches("unknown revision 'fff999'; see `lmigrate history` or `lmigrate heads`",
        errmsg(g.plan, g, {}, "fff999", "up"), 1, true)
      assert.matches("unknown revision 'zzz'; see `lmigrate history`",
        errmsg(g.resolve, g, "zzz"), 1, true)
    end)
  end)

  describe("range order", function()
    it("refuses a reversed range", function()
      local g = core.graph { rev("aaa"), rev("bbb", "aaa"), rev("ccc", "bbb"), rev("ddd", "ccc") }
      assert.equal("ddd is not an ancestor of bbb (write the older revision first)",
        errmsg(g.range, g, {}, "ddd:bbb"):match("ddd is not.*"))
      assert.matches("ddd is not an ancestor of bbb", errmsg(g.range, g, {}, "d:b"), 1, true)
      assert.matches("ccc is not an ancestor of base (write the older revision first)",
        errmsg(g.range, g, {}, "ccc:base"), 1, true)
      assert.matches("ddd is not an ancestor of ccc", errmsg(g.range, g, {}, "head:ccc"), 1, true)
      assert.same({ "ccc", "bbb" }, g:range({}, "bbb:ccc"))
      assert.same({ "bbb" }, g:range({}, "bbb:bbb"))
    end)

    it("names revisions on different branches", function()
      local g = branchy()
      assert.matches("x1 is not an ancestor of y2 (they are on different branches)",
        errmsg(g.range, g, {}, "x1:y2"), 1, true)
      assert.matches("x2 is not an ancestor of y1 (they are on different branches)",
        errmsg(g.range, g, {}, "x@head:y1"), 1, true)
    end)

    it("leaves `current` alone: it only narrows the listing", function()
      local g = core.graph { rev("aaa"), rev("bbb", "aaa"), rev("ccc", "bbb") }
      assert.same({}, g:range({ "aaa" }, "ccc:current"))
      assert.same({}, g:range({ "ccc" }, "current:aaa"))
    end)

    it("refuses a malformed end or shape", function()
      local g = core.graph { rev("aaa"), rev("bbb", "aaa") }
      assert.matches("expected START:END, START: or :END", errmsg(g.range, g, {}, "a:b:c"), 1, true)
      assert.matches("a relative START is -N (N below the heads) and a relative END is +N",
        errmsg(g.range, g, {}, "+1:"), 1, true)
      assert.matches("a relative START is -N", errmsg(g.range, g, {}, "aaa:-1"), 1, true)
      assert.matches("goes past head bbb", errmsg(g.range, g, {}, "aaa:+2"), 1, true)
      assert.matches("invalid target 'a@'", errmsg(g.range, g, {}, ":a@"), 1, true)
      assert.matches("unknown revision 'zzz'", errmsg(g.range, g, {}, "zzz:"), 1, true)
    end)
  end)

  describe("scale", function()
    it("plans a 10,000-revision chain from base to head and back", function()
      local list = { rev("r0") }
      for i = 1, 9999 do list[#list + 1] = rev("r" .. i, "r" .. (i - 1)) end
      local g = core.graph(list)
      assert.same({ "r9999" }, g:heads())
      local steps = g:plan({}, "head", "up")
      assert.equal(10000, #steps)
      assert.equal("r0", steps[1])
      assert.equal("r9999", steps[10000])
      local h = {}
      for _, id in ipairs(steps) do h = g:step_heads(h, id, "up") end
      assert.same({ "r9999" }, h)
      assert.same({ "r9999", "r9998" }, g:plan(h, "-2", "down"))
      steps = g:plan(h, "base", "down")
      assert.equal(10000, #steps)
      assert.equal("r9999", steps[1])
      for _, id in ipairs(steps) do h = g:step_heads(h, id, "down") end
      assert.same({}, h)
      assert.equal(5001, #g:range({}, "r4999:"))
    end)

    it("steps down one branch of a wide graph without rescanning", function()
      local list = { rev("t0") }
      for i = 1, 3000 do list[#list + 1] = rev("a" .. i, i == 1 and "t0" or "a" .. (i - 1)) end
      for i = 1, 3000 do list[#list + 1] = rev("b" .. i, i == 1 and "t0" or "b" .. (i - 1)) end
      local g = core.graph(list)
      local h = run(g, { "a3000", "b3000" }, "t0", "down")
      assert.same({ "t0" }, h)
    end)
  end)
end)
