-- graph_alembic_spec.lua: Alembic's own traversal tests, ported to the
-- revision graph (src/graph.c, src/graph_plan.c) through lmigrate.core.graph.
-- Source: sqlalchemy/alembic tests/test_version_traversal.py (and the
-- LabeledBranchTest target resolution of tests/test_revision.py). Each `it`
-- names the Alembic class and test it came from. _assert_upgrade and
-- _assert_downgrade become up()/down(): plan from the given heads, check
-- the steps, then replay them through step_heads (Alembic's HeadMaintainer)
-- and check the version rows. Alembic orders independent branches by its
-- own topological sort; where its expected order is one of several valid
-- ones, the steps are compared as a set and checked for a valid order.
-- Where lmigrate deliberately differs, the test says so and asserts
-- lmigrate's behaviour (docs/cli.md, "Differences from Alembic").
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

local G = require "helpers.graph"
local rev, sorted, assert_order = G.rev, G.sorted, G.assert_order

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end


-- Plan target from heads in dir; expected steps: a list (exact order) or
-- { set = {...} } (any valid order); then replay through step_heads.
local function check(g, dir, target, heads, expected, expected_heads)
  local steps = g:plan(heads, target, dir)
  if expected.set then
    assert.same(sorted(expected.set), sorted(steps))
    assert_order(g, steps, dir)
  else
    assert.same(expected, steps)
  end
  local h = heads
  for _, id in ipairs(steps) do h = g:step_heads(h, id, dir) end
  assert.same(sorted(expected_heads), sorted(h))
end

local function up(g, ...) check(g, "up", ...) end
local function down(g, ...) check(g, "down", ...) end

describe("Alembic traversal #unit", function()

  -- RevisionPathTest: a -> b -> c -> d -> e
  describe("RevisionPathTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a"), rev("b", "a"), rev("c", "b"), rev("d", "c"),
                       rev("e", "d") }
    end)

    it("test_downgrade_base_no_version", function()
      down(g, "base", {}, {}, {})
    end)

    it("test_downgrade_to_existing (#838)", function()
      down(g, "a", { "a" }, {}, { "a" })
    end)

    it("test_downgrade_to_existing_head (#839)", function()
      down(g, "e", { "e" }, {}, { "e" })
    end)

    it("test_upgrade_path", function()
      up(g, "e", { "c" }, { "d", "e" }, { "e" })
      up(g, "c", {}, { "a", "b", "c" }, { "c" })
    end)

    it("test_relative_upgrade_path", function()
      up(g, "+2", { "a" }, { "b", "c" }, { "c" })
      up(g, "+1", { "a" }, { "b" }, { "b" })
      up(g, "+3", { "b" }, { "c", "d", "e" }, { "e" })
      up(g, "b+2", { "a" }, { "b", "c", "d" }, { "d" })
      up(g, "d-2", { "a" }, { "b" }, { "b" })
    end)

    it("test_invalid_relative_upgrade_path", function()
      -- Alembic: "Relative revision -2 didn't produce 2 migrations"; here
      -- -2 is a usage error for upgrade before any graph is consulted
      assert.matches("is a downgrade target", errmsg(g.plan, g, { "b" }, "-2", "up"))
      assert.matches("goes past head e", errmsg(g.plan, g, { "b" }, "+5", "up"))
    end)

    it("test_downgrade_path", function()
      down(g, "c", { "e" }, { "e", "d" }, { "c" })
      down(g, "base", { "c" }, { "c", "b", "a" }, {})
    end)

    it("test_relative_downgrade_path", function()
      down(g, "-1", { "c" }, { "c" }, { "b" })
      down(g, "-3", { "e" }, { "e", "d", "c" }, { "b" })
      down(g, "a+2", { "d" }, { "d" }, { "c" })
      down(g, "c-2", { "d" }, { "d", "c", "b" }, { "a" })
    end)

    it("test_invalid_relative_downgrade_path", function()
      assert.matches("goes past base", errmsg(g.plan, g, { "b" }, "-5", "down"))
      assert.matches("is an upgrade target", errmsg(g.plan, g, { "b" }, "+2", "down"))
    end)

    it("test_invalid_move_rev_to_none", function()
      assert.matches("cannot downgrade to b: it is not applied",
        errmsg(g.plan, g, {}, "b", "down"))
    end)

    it("test_invalid_move_higher_to_lower", function()
      assert.matches("cannot downgrade to c: it is not applied",
        errmsg(g.plan, g, { "b" }, "c", "down"))
    end)
  end)

  -- BranchedPathTest: a -> b, b -> c1 (c1branch) -> d1, b -> c2 (c2branch)
  -- -> d2: the graph of lmigrate issue 9.
  describe("BranchedPathTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a"), rev("b", "a"),
                       rev("c1", "b", { labels = { "c1branch" } }), rev("d1", "c1"),
                       rev("c2", "b", { labels = { "c2branch" } }), rev("d2", "c2") }
    end)

    it("test_upgrade_single_branch", function()
      up(g, "d1", { "b" }, { "c1", "d1" }, { "d1" })
    end)

    it("test_upgrade_multiple_branch", function()
      up(g, "heads", { "a" }, { set = { "b", "c2", "d2", "c1", "d1" } }, { "d1", "d2" })
    end)

    it("test_downgrade_multiple_branch", function()
      down(g, "a", { "d1", "d2" }, { set = { "d1", "c1", "d2", "c2", "b" } }, { "a" })
    end)

    it("test_relative_upgrade", function()
      up(g, "c2branch@head-1", { "b" }, { "c2" }, { "c2" })
    end)

    it("test_relative_downgrade_baseplus2", function()
      down(g, "base+2", { "d2", "d1" }, { set = { "d1", "c1", "d2", "c2" } }, { "b" })
    end)

    it("test_relative_downgrade_branchplus2", function()
      down(g, "c2branch@base+2", { "d2", "d1" }, { "d2", "c2" }, { "d1" })
    end)

    it("test_relative_downgrade_branchplus3", function()
      down(g, "c2", { "d2", "d1" }, { "d2" }, { "d1", "c2" })
      down(g, "c2branch@base+3", { "d2", "d1" }, { "d2" }, { "d1", "c2" })
    end)

    it("test_downgrade_once_order_right / _left (deliberate difference)", function()
      -- Alembic warns "downgrade -1 from multiple heads is ambiguous" and
      -- takes down whichever head its version table lists first; lmigrate
      -- refuses and asks for LABEL@-1 or a revision.
      assert.matches("ambiguous with several current heads",
        errmsg(g.plan, g, { "d2", "d1" }, "-1", "down"))
      assert.matches("ambiguous with several current heads",
        errmsg(g.plan, g, { "c2", "d1" }, "-1", "down"))
    end)

    it("test_downgrade_once_order_left_unbalanced_labelled", function()
      down(g, "c1branch@-1", { "d1", "d2" }, { "d1" }, { "c1", "d2" })
    end)

    it("test_downgrade_relative_order_right / _left (#765)", function()
      down(g, "d2-1", { "d2", "c1" }, { "d2" }, { "c1", "c2" })
      down(g, "d2-1", { "c1", "d2" }, { "d2" }, { "c1", "c2" })
    end)

    it("test_downgrade_single_branch_c1branch", function()
      down(g, "c1branch@b", { "c1", "d2" }, { "c1" }, { "d2" })
    end)

    it("test_downgrade_single_branch_c1branch_from_d1_head", function()
      down(g, "c2branch@b", { "c1", "d2" }, { "d2", "c2" }, { "c1" })
    end)

    it("test_downgrade_single_branch_c2", function()
      down(g, "c2@b", { "d1", "d2" }, { "d2", "c2" }, { "d1" })
    end)

    it("test_downgrade_single_branch_d1", function()
      down(g, "d1@b", { "d1", "d2" }, { "d1", "c1" }, { "d2" })
    end)

    it("test_downgrade_relative_to_branch_head", function()
      down(g, "c1branch@head-1", { "d1", "d2" }, { "d1" }, { "c1", "d2" })
    end)

    it("test_upgrade_other_branch_from_mergepoint", function()
      up(g, "c2branch@+1", { "c1" }, { "c2" }, { "c1", "c2" })
    end)

    it("test_upgrade_one_branch_of_heads", function()
      up(g, "c2branch@+1", { "c1", "c2" }, { "d2" }, { "c1", "d2" })
    end)

    it("test_ambiguous_upgrade", function()
      assert.matches("ambiguous with several current heads",
        errmsg(g.plan, g, { "c1", "c2" }, "+1", "up"))
    end)

    it("test_upgrade_from_base", function()
      up(g, "base+1", {}, { "a" }, { "a" })
    end)

    it("test_upgrade_from_base_implicit", function()
      up(g, "+1", {}, { "a" }, { "a" })
    end)

    it("test_downgrade_minus1_to_base", function()
      down(g, "-1", { "a" }, { "a" }, {})
    end)

    it("test_downgrade_minus1_from_base", function()
      assert.matches("relative downgrade %-1: no revision is applied",
        errmsg(g.plan, g, {}, "-1", "down"))
    end)

    it("test_downgrade_no_effect_branched", function()
      down(g, "c2", { "d1", "c2" }, {}, { "d1", "c2" })
      down(g, "d1", { "d1", "c2" }, {}, { "d1", "c2" })
    end)

    it("test_stamp_to_labeled_base_multiple_heads (the resolution)", function()
      -- c1branch@base is base; c1branch@base+N counts from the root a
      assert.same({}, g:resolve("c1branch@base"))
      assert.same({ "b" }, g:resolve("c2branch@base+2"))
      assert.same({ "c1" }, g:resolve("c1branch@base+3"))
    end)
  end)

  -- BranchFromMergepointTest: a1 -> b1 -> c1, a2 -> b2 -> c2,
  -- (c1, c2) -> d1, c2 -> d2
  describe("BranchFromMergepointTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a1"), rev("b1", "a1"), rev("c1", "b1"),
                       rev("a2"), rev("b2", "a2"), rev("c2", "b2"),
                       rev("d1", { "c1", "c2" }), rev("d2", "c2") }
    end)

    it("test_mergepoint_to_only_one_side_upgrade", function()
      up(g, "d1", { "d2", "b1" }, { "c1", "d1" }, { "d2", "d1" })
    end)

    it("test_mergepoint_to_only_one_side_downgrade", function()
      down(g, "b1", { "d2", "d1" }, { "d1", "c1" }, { "d2", "b1" })
    end)
  end)

  -- BranchFrom3WayMergepointTest: three roots, (c1, c2, c3) -> d1,
  -- c2 -> d2, c3 -> d3
  describe("BranchFrom3WayMergepointTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a1"), rev("b1", "a1"), rev("c1", "b1"),
                       rev("a2"), rev("b2", "a2"), rev("c2", "b2"),
                       rev("a3"), rev("b3", "a3"), rev("c3", "b3"),
                       rev("d1", { "c1", "c2", "c3" }), rev("d2", "c2"),
                       rev("d3", "c3") }
    end)

    it("test_mergepoint_to_only_one_side_upgrade", function()
      up(g, "d1", { "d3", "d2", "b1" }, { "c1", "d1" }, { "d3", "d2", "d1" })
    end)

    it("test_mergepoint_to_only_one_side_downgrade", function()
      down(g, "b1", { "d3", "d2", "d1" }, { "d1", "c1" }, { "d3", "d2", "b1" })
    end)

    it("test_mergepoint_to_two_sides_upgrade", function()
      up(g, "d1", { "d3", "b2", "b1" }, { set = { "c2", "c1", "d1" } }, { "d3", "d1" })
      up(g, "d2", { "d3", "d1" }, { "d2" }, { "d3", "d2", "d1" })
    end)
  end)

  -- TwinMergeTest (#297): a -> b1, b2, b3; (b1, b2, b3) -> c1 and c2;
  -- c1 -> d1, c2 -> d2. HeadMaintainer step by step.
  describe("TwinMergeTest", function()
    it("test_upgrade", function()
      local g = core.graph { rev("a"), rev("b1", "a"), rev("b2", "a"), rev("b3", "a"),
                             rev("c1", { "b1", "b2", "b3" }),
                             rev("c2", { "b1", "b2", "b3" }),
                             rev("d1", "c1"), rev("d2", "c2") }
      local h = { "a" }
      for _, s in ipairs {
        { "b3", { "b3" } }, { "b1", { "b1", "b3" } }, { "b2", { "b1", "b2", "b3" } },
        { "c2", { "c2" } }, { "d2", { "d2" } }, { "c1", { "c1", "d2" } },
        { "d1", { "d1", "d2" } } } do
        h = g:step_heads(h, s[1], "up")
        assert.same(s[2], sorted(h))
      end
    end)
  end)

  -- NotQuiteTwinMergeTest: (b1, b2) -> c1, (b2, b3) -> c2
  describe("NotQuiteTwinMergeTest", function()
    it("test_upgrade", function()
      local g = core.graph { rev("a"), rev("b1", "a"), rev("b2", "a"), rev("b3", "a"),
                             rev("c1", { "b1", "b2" }), rev("c2", { "b2", "b3" }),
                             rev("d1", "c1"), rev("d2", "c2") }
      local h = { "a" }
      for _, s in ipairs {
        { "b2", { "b2" } }, { "b3", { "b2", "b3" } }, { "c2", { "c2" } },
        { "d2", { "d2" } }, { "b1", { "b1", "d2" } }, { "c1", { "c1", "d2" } },
        { "d1", { "d1", "d2" } } } do
        h = g:step_heads(h, s[1], "up")
        assert.same(s[2], sorted(h))
      end
    end)
  end)

  -- DependsOnBranchTestOne: a1 (lib1) -> b1 -> c1 -> d1 -> e1 -> f1,
  -- a2 -> b2 -> c2 (depends on c1)
  describe("DependsOnBranchTestOne", function()
    it("test_downgrade_to_dependency", function()
      local g = core.graph { rev("a1", nil, { labels = { "lib1" } }), rev("b1", "a1"),
                             rev("c1", "b1"), rev("a2"), rev("b2", "a2"),
                             rev("c2", "b2", { deps = { "c1" } }),
                             rev("d1", "c1"), rev("e1", "d1"), rev("f1", "e1") }
      assert.same({ "c2" }, g:step_heads({ "c2", "d1" }, "d1", "down"))
    end)
  end)

  -- DependsOnBranchTestTwo: a1, a2, a3 -> amerge; b1, b2 -> bmerge;
  -- c1, c2, c3 -> cmerge; d1 (a root) depends on a3, b2, c1
  describe("DependsOnBranchTestTwo", function()
    it("test_kaboom", function()
      local g = core.graph { rev("a1"), rev("a2"), rev("a3"),
                             rev("amerge", { "a1", "a2", "a3" }),
                             rev("b1"), rev("b2"), rev("bmerge", { "b1", "b2" }),
                             rev("c1"), rev("c2"), rev("c3"),
                             rev("cmerge", { "c1", "c2", "c3" }),
                             rev("d1", nil, { deps = { "a3", "b2", "c1" } }) }
      down(g, "b2", { "amerge", "bmerge", "cmerge", "d1" }, { "bmerge" },
           { "amerge", "b1", "cmerge", "d1" })
      -- d1@base: the roots on d1's lineage (d1 itself) and what builds on it
      down(g, "d1@base", { "amerge", "d1", "b1", "cmerge" }, { "d1" },
           { "amerge", "b1", "b2", "cmerge" })
      down(g, "base", { "amerge", "b1", "b2", "cmerge" },
           { set = { "amerge", "a1", "b1", "b2", "cmerge", "c1", "a2", "a3", "c2", "c3" } },
           {})
    end)
  end)

  -- DependsOnBranchTestThree (#377): a1 -> a2 -> a3 (depends on b1),
  -- b1 -> b2 (depends on a2) -> b3: the criss-cross of lmigrate issue 9
  describe("DependsOnBranchTestThree", function()
    it("test_downgrade_over_crisscross", function()
      local g = core.graph { rev("a1"), rev("a2", "a1"), rev("b1"),
                             rev("b2", "b1", { deps = { "a2" } }), rev("b3", "b2"),
                             rev("a3", "a2", { deps = { "b1" } }) }
      down(g, "b1", { "a3", "b2" }, { "b2" }, { "a3" })
    end)
  end)

  -- DependsOnOwnDownrevTest (#843): a1 -> a2, a2 also depends on a1
  describe("DependsOnOwnDownrevTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a1"), rev("a2", "a1", { deps = { "a1" } }) }
    end)

    it("test_traverse", function()
      up(g, "a2", {}, { "a1", "a2" }, { "a2" })
    end)

    it("test_traverse_down", function()
      down(g, "a1", { "a2" }, { "a2" }, { "a1" })
    end)
  end)

  -- DependsOnBranchTestFour (#789): b2 and b4 both depend on a3
  describe("DependsOnBranchTestFour", function()
    it("test_dependencies_are_normalized", function()
      local g = core.graph { rev("a1"), rev("a2", "a1"), rev("a3", "a2"),
                             rev("b1"), rev("b2", "b1", { deps = { "a3" } }),
                             rev("b3", "b2"), rev("b4", "b3", { deps = { "a3" } }) }
      down(g, "b3", { "b4" }, { "b4" }, { "b3" })
    end)
  end)

  -- DependsOnBranchTestFive (#1373): b1 (a root) depends on a1;
  -- (a1, b1) -> bmerge
  describe("DependsOnBranchTestFive", function()
    it("test_downgrade_to_depends_on", function()
      local g = core.graph { rev("a1"), rev("b1", nil, { deps = { "a1" } }),
                             rev("bmerge", { "a1", "b1" }) }
      up(g, "b1", { "a1" }, { "b1" }, { "b1" })
      up(g, "bmerge", { "b1" }, { "bmerge" }, { "bmerge" })
      down(g, "a1", { "bmerge" }, { "bmerge" }, { "b1" })
      down(g, "b1", { "bmerge" }, { "bmerge" }, { "b1" })
    end)
  end)

  -- DependsOnBranchLabelTest: c2 depends on the label c1lib
  describe("DependsOnBranchLabelTest", function()
    it("test_upgrade_path", function()
      local g = core.graph { rev("a1", nil, { labels = { "lib1" } }), rev("b1", "a1"),
                             rev("c1", "b1", { labels = { "c1lib" } }),
                             rev("a2"), rev("b2", "a2"),
                             rev("c2", "b2", { deps = { "c1lib" } }),
                             rev("d1", "c1"), rev("e1", "d1"), rev("f1", "e1") }
      up(g, "c2", { "a2" }, { set = { "a1", "b1", "c1", "b2", "c2" } }, { "c2" })
    end)
  end)

  -- ForestTest: a1 -> b1, a2 -> b2
  describe("ForestTest", function()
    it("test_base_to_heads", function()
      local g = core.graph { rev("a1"), rev("b1", "a1"), rev("a2"), rev("b2", "a2") }
      up(g, "heads", {}, { set = { "a2", "b2", "a1", "b1" } }, { "b1", "b2" })
    end)
  end)

  -- MergedPathTest: a -> b -> c1 -> d1, b -> c2 (c2branch) -> d2,
  -- (d1, d2) -> e -> f
  describe("MergedPathTest", function()
    local g
    before_each(function()
      g = core.graph { rev("a"), rev("b", "a"), rev("c1", "b"), rev("d1", "c1"),
                       rev("c2", "b", { labels = { "c2branch" } }), rev("d2", "c2"),
                       rev("e", { "d1", "d2" }), rev("f", "e") }
    end)

    it("test_upgrade_across_merge_point", function()
      up(g, "f", { "b" }, { set = { "c2", "d2", "c1", "d1", "e", "f" } }, { "f" })
    end)

    it("test_downgrade_across_merge_point", function()
      down(g, "b", { "f" }, { set = { "f", "e", "d1", "c1", "d2", "c2" } }, { "b" })
    end)

    it("test_stamp_labeled_head_across_merge_from_multiple_branch (resolution)", function()
      assert.same({ "f" }, g:resolve("c2branch@head"))
    end)
  end)

  -- BranchedPathTestCrossDependencies: BranchedPathTest with d2 depending
  -- on c1
  describe("BranchedPathTestCrossDependencies", function()
    local g
    before_each(function()
      g = core.graph { rev("a"), rev("b", "a"),
                       rev("c1", "b", { labels = { "c1branch" } }), rev("d1", "c1"),
                       rev("c2", "b", { labels = { "c2branch" } }),
                       rev("d2", "c2", { deps = { "c1" } }) }
    end)

    it("test_downgrade_independent_branch", function()
      down(g, "c2branch@b", { "d1", "d2" }, { "d2", "c2" }, { "d1" })
    end)

    it("test_downgrade_branch_dependency", function()
      down(g, "c1branch@b", { "d1", "d2" }, { set = { "c1", "d1", "d2" } }, { "c2" })
    end)
  end)

  -- test_revision.py LabeledBranchTest: a (abranch) -> b -> somelongername
  -- -> c; d -> e (ebranch) -> someothername -> f. Resolution and ranges
  -- (Alembic's iterate_revisions(upper, lower) is history -r lower:upper).
  describe("LabeledBranchTest (test_revision.py)", function()
    local g
    before_each(function()
      g = core.graph { rev("a", nil, { labels = { "abranch" } }), rev("b", "a"),
                       rev("somelongername", "b"), rev("c", "somelongername"),
                       rev("d"), rev("e", "d", { labels = { "ebranch" } }),
                       rev("someothername", "e"), rev("f", "someothername") }
    end)

    it("test_get_current_named_rev, test_branch_at_syntax, test_branch_at_heads", function()
      assert.same({ "f" }, g:resolve("ebranch@head"))
      assert.same({ "c" }, g:resolve("abranch@head"))
      assert.same({ "c" }, g:resolve("abranch@heads"))
      assert.same({}, g:resolve("abranch@base"))
      assert.same({ "d" }, g:resolve("ebranch@d"))
    end)

    it("test_branch_at_self, test_retrieve_branch_revision", function()
      assert.same({ "e" }, g:resolve("ebranch@ebranch"))
      assert.same({ "a" }, g:resolve("abranch"))
      assert.same({ "e" }, g:resolve("ebranch"))
    end)

    it("test_partial_id_resolve", function()
      assert.same({ "someothername" }, g:resolve("ebranch@some"))
      assert.same({ "somelongername" }, g:resolve("abranch@some"))
      assert.matches("ambiguous revision prefix 'some'", errmsg(g.resolve, g, "some"))
    end)

    it("test_rev_not_in_branch", function()
      assert.matches("revision b is not on branch 'ebranch'", errmsg(g.resolve, g, "ebranch@b"))
      assert.matches("revision d is not on branch 'abranch'", errmsg(g.resolve, g, "abranch@d"))
    end)

    it("test_not_actually_a_branch, _partial_resolution, test_no_such_branch", function()
      assert.same({ "d" }, g:resolve("e@d"))
      assert.same({ "d" }, g:resolve("someoth@d"))
      assert.matches("unknown branch label 'x'", errmsg(g.resolve, g, "x@d"))
    end)

    it("test_iterate_head_to_named_base, test_iterate_head_to_version_specific_base", function()
      assert.same({ "f", "someothername", "e", "d" }, g:range({}, "ebranch@base:heads"))
      assert.same({ "c", "somelongername", "b", "a" }, g:range({}, "abranch@base:heads"))
      assert.same({ "f", "someothername", "e", "d" }, g:range({}, "e@base:heads"))
      assert.same({ "c", "somelongername", "b", "a" }, g:range({}, "c@base:heads"))
    end)

    it("test_iterate_named_head_to_base, test_iterate_named_rev_to_heads", function()
      assert.same({ "f", "someothername", "e", "d" }, g:range({}, "base:ebranch@head"))
      assert.same({ "c", "somelongername", "b", "a" }, g:range({}, "base:abranch@head"))
      assert.same({ "f" }, g:range({}, "ebranch@head:heads"))
      assert.same({ "f", "someothername", "e", "d" }, g:range({}, "ebranch@d:heads"))
    end)

    it("test_branch_w_up_relative", function()
      assert.same({ "d", "e" }, g:plan({}, "ebranch@+2", "up"))
    end)
  end)
end)
