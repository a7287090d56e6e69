-- spec/integration/alembic_parity_spec.lua: issue 9, Alembic parity on a
-- real database. Each `describe` is one numbered item of the issue; the
-- expected outcome is what Alembic 1.8.1 does on the same graph (checked
-- by running it, and from tests/test_version_traversal.py). Every test
-- asserts the tables left in the database and the version rows, so a
-- downgrade that walks into another branch fails here.

local h = require "helpers"

-- A revision creating t_<id> (dropping it on downgrade). o.labels, o.deps.
local function trev(id, down, o)
  o = o or {}
  local fields = {}
  if o.labels then fields[#fields + 1] = "  branch_labels = " .. h.lit(o.labels) .. "," end
  if o.deps then fields[#fields + 1] = "  depends_on = " .. h.lit(o.deps) .. "," end
  return h.rev { id = id, down = down, msg = o.msg,
    fields = #fields > 0 and table.concat(fields, "\n") or nil,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
end

-- The issue's graph: a -> b, then b -> c1 (c1branch) -> d1 and
-- b -> c2 (c2branch) -> d2.
local function issue_graph(extra)
  local g = {
    trev("a", nil), trev("b", "a"),
    trev("c1", "b", { labels = { "c1branch" } }), trev("d1", "c1"),
    trev("c2", "b", { labels = { "c2branch" } }),
    trev("d2", "c2", extra and extra.d2 or nil),
  }
  return g
end

local setup = h.setup
local run = h.run_in

-- Run and require exit status 0.
local function ok(dir, args)
  local r = run(dir, args)
  local what = type(args) == "table" and table.concat(args, " ") or args
  assert.equal(0, r.code, what .. ": " .. r.err)
  return r
end

-- The t_* tables, sorted, as the ids they belong to.
local function applied(url)
  local t = {}
  for _, name in ipairs(h.tables(url)) do
    local id = name:match("^t_(.*)$")
    if id then t[#t + 1] = id end
  end
  table.sort(t)
  return t
end

local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

for _, backend in ipairs(h.each_backend()) do
  describe("Alembic parity (issue 9) [" .. backend .. "] #integration #" .. backend, function()

    describe("1. label@REV stays on that branch", function()
      it("downgrade c1branch@b at heads c1, d2 reverts only c1", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade c1")
        ok(dir, "upgrade d2")
        assert.version_is(url, { "c1", "d2" })
        ok(dir, "downgrade c1branch@b")
        assert.same({ "a", "b", "c2", "d2" }, applied(url))
        assert.version_is(url, "d2")
      end)

      it("c2branch@b with d2 depending on c1 reverts c2 and d2 only", function()
        -- Alembic BranchedPathTestCrossDependencies
        local dir, url = setup(backend, issue_graph { d2 = { deps = "c1" } })
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c2branch@b")
        assert.same({ "a", "b", "c1", "d1" }, applied(url))
        assert.version_is(url, "d1")
      end)

      it("c1branch@b with d2 depending on c1 also reverts d2, not c2", function()
        local dir, url = setup(backend, issue_graph { d2 = { deps = "c1" } })
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c1branch@b")
        assert.same({ "a", "b", "c2" }, applied(url))
        assert.version_is(url, "c2")
      end)
    end)

    describe("2. downgrade through depends_on reverts only true dependents", function()
      -- Alembic DependsOnBranchTestThree: a1 -> a2 -> a3 (depends on b1),
      -- b1 -> b2 (depends on a2) -> b3
      local crisscross = {
        trev("a1", nil), trev("a2", "a1"), trev("b1", nil),
        trev("b2", "b1", { deps = "a2" }), trev("b3", "b2"),
        trev("a3", "a2", { deps = "b1" }),
      }

      it("downgrade b1 in the criss-cross leaves a3 applied", function()
        local dir, url = setup(backend, crisscross)
        ok(dir, "upgrade a3")
        ok(dir, "upgrade b2")
        assert.same({ "a1", "a2", "a3", "b1", "b2" }, applied(url))
        ok(dir, "downgrade b1")
        assert.same({ "a1", "a2", "a3", "b1" }, applied(url))
        assert.version_is(url, "a3")
      end)

      it("a root that depends on the target stays when the target's branch goes down", function()
        local revs = {
          trev("app1", nil), trev("app2", "app1", { deps = "lib1" }),
          trev("lib1", nil), trev("lib2", "lib1"),
        }
        local dir, url = setup(backend, revs)
        ok(dir, "upgrade heads")
        ok(dir, "downgrade lib1")
        assert.same({ "app1", "app2", "lib1" }, applied(url))
        assert.version_is(url, "app2")
        -- reverting lib1 itself takes its dependent with it
        ok(dir, "downgrade lib1-1")
        assert.same({ "app1" }, applied(url))
        assert.version_is(url, "app1")
      end)
    end)

    describe("3. label@base[+N] counts from the root of the lineage", function()
      it("resolves c2branch@base+2 to b and c1branch@base+3 to c1", function()
        local dir = setup(backend, issue_graph())
        assert.matches("^Rev: b ", ok(dir, "show c2branch@base+2").out)
        assert.matches("^Rev: c1\n", ok(dir, "show c1branch@base+3").out)
        assert.equal("<base>\n", ok(dir, "show c1branch@base").out)
      end)

      it("downgrade c1branch@base empties the database", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c1branch@base")
        assert.same({}, applied(url))
        assert.version_is(url, {})
      end)

      it("downgrade c2branch@base+2 reverts the c2 branch down to b", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c2branch@base+2")
        assert.same({ "a", "b", "c1", "d1" }, applied(url))
        assert.version_is(url, "d1")
      end)

      it("stamp c1branch@base removes only that branch's row", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "stamp d1 c2")
        ok(dir, "stamp c1branch@base")
        assert.version_is(url, "c2")
      end)

      it("history -r c1branch@base:c1branch@head lists the whole lineage", function()
        local dir = setup(backend, issue_graph())
        local out = lines(ok(dir, "history -r c1branch@base:c1branch@head").out)
        assert.same({ "d1", "c1", "b", "a" },
          { out[1]:match("-> (%w+)"), out[2]:match("-> (%w+)"),
            out[3]:match("-> (%w+)"), out[4]:match("-> (%w+)") })
        assert.equal(4, #out)
      end)
    end)

    describe("4. label@head-N", function()
      it("upgrade c2branch@head-1 is c2", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade b")
        ok(dir, "upgrade c2branch@head-1")
        assert.same({ "a", "b", "c2" }, applied(url))
        assert.version_is(url, "c2")
      end)

      it("downgrade c1branch@head-1 at heads d1, d2 leaves c1, d2", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c1branch@head-1")
        assert.same({ "a", "b", "c1", "c2", "d2" }, applied(url))
        assert.version_is(url, { "c1", "d2" })
      end)
    end)

    describe("5. a revision id or prefix before '@'", function()
      it("downgrade c2@b and d1@b keep to that revision's branch", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade heads")
        ok(dir, "downgrade c2@b")
        assert.same({ "a", "b", "c1", "d1" }, applied(url))
        assert.version_is(url, "d1")
        ok(dir, "upgrade heads")
        ok(dir, "downgrade d1@b")
        assert.same({ "a", "b", "c2", "d2" }, applied(url))
        assert.version_is(url, "d2")
      end)

      it("c2@head, a@+1, d1@base resolve; b@head has two heads, as in Alembic", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade a@+1")
        assert.version_is(url, "a")
        ok(dir, "upgrade c2@head")
        assert.version_is(url, "d2")
        assert.equal("<base>\n", ok(dir, "show d1@base").out)
        local r = run(dir, "upgrade b@head")
        assert.equal(1, r.code)
        assert.matches("branch 'b' has several heads (d1, d2)", r.err, 1, true)
        assert.version_is(url, "d2")
      end)
    end)

    describe("6. REV-N that reaches base goes to base", function()
      it("downgrade b-2 reverts everything; b-3 is past base", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade b")
        local r = run(dir, "downgrade b-3")
        assert.equal(1, r.code)
        assert.matches("goes past base (b-2 is already base)", r.err, 1, true)
        assert.same({ "a", "b" }, applied(url))
        ok(dir, "downgrade b-2")
        assert.same({}, applied(url))
        assert.version_is(url, {})
      end)
    end)

    describe("7. label@heads and prefixes after label@", function()
      it("upgrade c1branch@heads is c1branch@head", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "upgrade c1branch@heads")
        assert.same({ "a", "b", "c1", "d1" }, applied(url))
        assert.version_is(url, "d1")
      end)

      it("a prefix ambiguous overall is resolved within the branch", function()
        local dir, url = setup(backend, issue_graph())
        local r = run(dir, "upgrade d")
        assert.equal(1, r.code)
        assert.matches("ambiguous revision prefix 'd' matches d1, d2", r.err, 1, true)
        ok(dir, "upgrade c1branch@d")
        assert.version_is(url, "d1")
        ok(dir, "upgrade c2branch@d")
        assert.version_is(url, { "d1", "d2" })
      end)
    end)

    describe("8. version rows hold heads only", function()
      -- a1 -> a2; b1 -> b2 (depends on a2) -> b3
      local revs = {
        trev("a1", nil), trev("a2", "a1"),
        trev("b1", nil), trev("b2", "b1", { deps = "a2" }), trev("b3", "b2"),
      }

      it("upgrade b2 leaves one row; current shows what it implies", function()
        local dir, url = setup(backend, revs)
        ok(dir, "upgrade b2")
        assert.same({ "a1", "a2", "b1", "b2" }, applied(url))
        assert.version_is(url, "b2")
        assert.same({ "a2 (head)", "b2" }, lines(ok(dir, "current").out))
        -- downgrading b2 puts the rows it implied back
        ok(dir, "downgrade b1")
        assert.version_is(url, { "a2", "b1" })
      end)

      it("a table with a dependency row of its own is rewritten on the next run", function()
        local dir, url = setup(backend, revs)
        ok(dir, "upgrade b2")
        h.query(url, "INSERT INTO lmigrate_version (version_num) VALUES ('a2')")
        assert.version_is(url, { "a2", "b2" })
        assert.same({ "a2 (head)", "b2" }, lines(ok(dir, "current").out))
        ok(dir, "upgrade b3")
        assert.version_is(url, "b3")
        assert.same({ "a1", "a2", "b1", "b2", "b3" }, applied(url))
      end)
    end)

    describe("9. upgrade head with no revision files", function()
      it("is a no-op with exit status 0", function()
        local dir, url = setup(backend, {})
        local r = ok(dir, "upgrade head")
        assert.matches("Nothing to upgrade", r.out .. r.err)
        assert.version_is(url, {})
      end)
    end)

    describe("10. stamp", function()
      it("takes several targets", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "stamp c1 d2")
        assert.version_is(url, { "c1", "d2" })
        assert.same({}, applied(url))
        -- a target another one implies is no row
        ok(dir, "stamp --purge a d1")
        assert.version_is(url, "d1")
      end)

      it("stamp FROM:TO --sql writes an UPDATE; stamp X --sql deletes no row", function()
        local dir = setup(backend, issue_graph())
        local r = ok(dir, "stamp --sql c1:d1")
        assert.matches("UPDATE [^\n]*lmigrate_version[^\n]* SET version_num = 'd1' " ..
                       "WHERE version_num = 'c1'", r.out)
        assert.not_matches("DELETE FROM", r.out)
        r = ok(dir, "stamp --sql d2")
        assert.matches("INSERT INTO [^\n]*lmigrate_version[^\n]*%('d2'%)", r.out)
        assert.not_matches("DELETE FROM", r.out)
      end)

      it("an online stamp of one branch keeps the other branch's row", function()
        local dir, url = setup(backend, issue_graph())
        ok(dir, "stamp d1 c2")
        ok(dir, "stamp c2branch@head")
        assert.version_is(url, { "d1", "d2" })
      end)
    end)

    describe("11. history -r relative ranges, current:head, show current", function()
      it("accepts START:+N and -N:END", function()
        local dir = setup(backend, issue_graph())
        local out = lines(ok(dir, "history -r a:+1").out)
        assert.same({ "a -> b (branchpoint), rev b", "<base> -> a, rev a" }, out)
        out = lines(ok(dir, { "history", "-r", "-2:d1" }).out)
        assert.same({ "c1 -> d1 (c1branch) (head), rev d1",
                      "b -> c1 (c1branch), rev c1",
                      "a -> b (branchpoint), rev b" }, out)
      end)

      it("current:head lists only what is pending", function()
        local dir = setup(backend, issue_graph())
        ok(dir, "upgrade c1")
        local out = lines(ok(dir, "history -r current:c1branch@head").out)
        assert.same({ "c1 -> d1 (c1branch) (head), rev d1" }, out)
        ok(dir, "upgrade d1")
        assert.equal("", ok(dir, "history -r current:c1branch@head").out)
      end)

      it("show current shows the applied heads", function()
        local dir = setup(backend, issue_graph())
        ok(dir, "upgrade c2")
        assert.matches("^Rev: c2\nParent: b\nBranch names: c2branch\n", ok(dir, "show current").out)
      end)
    end)

    describe("output that scripts parse", function()
      it("heads, branches, show and history", function()
        local merged = issue_graph()
        merged[#merged + 1] = trev("e", { "d1", "d2" }, { msg = "merge" })
        local dir = setup(backend, merged)
        assert.equal("e (head)\n", ok(dir, "heads").out)
        dir = setup(backend, issue_graph())
        assert.same({ "d1 (c1branch) (head)", "d2 (c2branch) (head)" },
          lines(ok(dir, "heads").out))
        assert.matches("^Rev: d1 %(head%)\nParent: c1\nBranch names: c1branch\n",
          ok(dir, "heads -v").out)
        assert.same({ "b (branchpoint)", "  -> c1 (c1branch)", "  -> c2 (c2branch)", "" },
          lines(ok(dir, "branches").out))
        local show = ok(dir, "show b").out
        assert.matches("^Rev: b %(branchpoint%)\nParent: a\nBranches into: c1, c2\n", show)
        dir = setup(backend, merged)
        show = ok(dir, "show e").out
        assert.matches("^Rev: e %(head%) %(mergepoint%)\nMerges: d1, d2\n", show)
        assert.equal("d1, d2 -> e (head) (mergepoint), merge",
          lines(ok(dir, "history").out)[1])
      end)
    end)
  end)
end
