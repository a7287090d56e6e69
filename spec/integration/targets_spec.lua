-- spec/integration/targets_spec.lua: how upgrade, downgrade and stamp
-- treat a TARGET that cannot work. A malformed one, or one for the other
-- direction, is a usage error (exit 2) found before anything connects; a
-- well-formed one that names no revision fails (exit 1) with a hint.

local h = require "helpers"

-- A revision file { file=, text= } for h.project that creates t_<id> and
-- drops it again; fields are extra raw lines (line 5 on).
local function trev(id, down, fields)
  local lines = {
    "return {",
    ("  revision = %q,"):format(id),
    "  down_revision = " .. (down and ("%q"):format(down) or "nil") .. ",",
    ("  message = %q,"):format("rev " .. id),
  }
  if fields then lines[#lines + 1] = fields end
  lines[#lines + 1] = ('  upgrade = function(op) op.create_table("t_%s", ' ..
    '{"id", "integer", primary_key = true}) end,'):format(id)
  lines[#lines + 1] = ('  downgrade = function(op) op.drop_table("t_%s") end,'):format(id)
  lines[#lines + 1] = "}"
  return { file = id .. "_rev.lua", text = table.concat(lines, "\n") .. "\n" }
end

-- aaa111 <- bbb222 [feature] <- ccc333
local chain = {
  trev("aaa111", nil),
  trev("bbb222", "aaa111", '  branch_labels = { "feature" },'),
  trev("ccc333", "bbb222"),
}

local function setup(backend)
  local dir = h.tmpdir()
  local url = h.db_url(backend, dir)
  h.project(dir, chain, { config =
    ("return { url = %q, script_location = \"versions\" }\n"):format(url) })
  return dir, url
end

local run = h.run_in

for _, backend in ipairs(h.each_backend()) do
  describe("targets [" .. backend .. "] #integration #" .. backend, function()
    -- Nothing connected: no SQLite file, no tables on PostgreSQL.
    local function untouched(url)
      if backend == "sqlite" then
        local _, path = h.parse_db(url)
        assert.is_false(h.exists(path), "the database file was created")
      else
        assert.same({}, h.tables(url))
      end
    end

    it("a malformed target is a usage error, before anything connects", function()
      local dir, url = setup(backend)
      local cases = {
        { "upgrade +abc", "invalid upgrade target '+abc': N in +N must be a whole number, 1 or more; upgrade targets are head, heads, REV, REV+N, REV-N, +N, LABEL@head, LABEL@heads, LABEL@head-N, LABEL@+N, LABEL@base+N or LABEL@REV" },
        { "upgrade ++1", "invalid upgrade target '++1': N in +N must be a whole number" },
        { "upgrade +0", "invalid upgrade target '+0': N in +N must be a whole number" },
        { "upgrade @head", "invalid upgrade target '@head': no branch label before '@'" },
        { "upgrade heads+1", "invalid upgrade target 'heads+1': heads takes no +N or -N" },
        { "downgrade feature@-0", "invalid downgrade target 'feature@-0': N in -N must be a whole number, 1 or more; downgrade targets are base, REV, REV-N, -N, LABEL@-N, LABEL@base, LABEL@base+N, LABEL@head-N or LABEL@REV" },
        { "stamp a:b", "stamp: FROM:TO ranges are for --sql (offline) mode" },
        { "stamp --sql a:b:c", "invalid target 'b:c': a revision id, prefix or branch label is 1 to 64 of A-Z a-z 0-9 _" },
        { "upgrade --sql +1:head", "relative target '+1' needs the current heads" },
      }
      for _, c in ipairs(cases) do
        local r = run(dir, c[1])
        assert.equal(2, r.code, c[1] .. ": " .. r.err)
        assert.matches("^lmigrate: error: " .. c[2]:gsub("%p", "%%%0"), r.err)
        assert.equal("", r.out, c[1])
      end
      untouched(url)
    end)

    it("a target for the other direction is a usage error naming the command", function()
      local dir, url = setup(backend)
      local r = run(dir, "upgrade -1")
      assert.equal(2, r.code, r.err)
      assert.matches("^lmigrate: error: '%-1' is a downgrade target: use `lmigrate downgrade %-1`;", r.err)
      r = run(dir, "downgrade +1")
      assert.equal(2, r.code, r.err)
      assert.matches("^lmigrate: error: '%+1' is an upgrade target: use `lmigrate upgrade %+1`;", r.err)
      r = run(dir, "stamp +1")
      assert.equal(2, r.code, r.err)
      assert.equal("lmigrate: error: relative target '+1' needs the current heads; " ..
                   "use it with upgrade or downgrade\n", r.err)
      untouched(url)
    end)

    it("an unknown revision fails with the nearest keyword or label", function()
      local dir, url = setup(backend)
      local cases = {
        { "upgrade haed", "unknown revision 'haed' (did you mean 'head'?)" },
        { "upgrade Head", "unknown revision 'Head' (did you mean 'head'?)" },
        { "downgrade bsae", "unknown revision 'bsae' (did you mean 'base'?)" },
        { "upgrade featrue", "unknown revision 'featrue' (did you mean 'feature'?)" },
        { "upgrade featur@head", "unknown branch label 'featur' (did you mean 'feature'?)" },
        { "upgrade fff999", "unknown revision 'fff999'; see `lmigrate history` or `lmigrate heads`" },
      }
      for _, c in ipairs(cases) do
        local r = run(dir, c[1])
        assert.equal(1, r.code, c[1] .. ": " .. r.err)
        assert.equal("lmigrate: error: " .. c[2] .. "\n", r.err)
      end
      assert.version_is(url, {})
    end)

    it("history -r: a malformed or reversed range is a usage error", function()
      local dir = setup(backend)
      local cases = {
        { "garbage", 2, "history -r garbage: expected START:END, START: or :END" },
        { "a:b:c", 2, "history -r a:b:c: expected START:END, START: or :END" },
        { "ccc333:aaa111", 2, "history -r ccc333:aaa111: ccc333 is not an ancestor " ..
                              "of aaa111 (write the older revision first)" },
        { "+1:", 2, "history -r +1:: a relative START is -N (N below the heads) " ..
                    "and a relative END is +N (N above START)" },
        { "zzz999:", 1, "history -r zzz999:: unknown revision 'zzz999'; see " ..
                        "`lmigrate history` or `lmigrate heads`" },
      }
      for _, c in ipairs(cases) do
        local r = run(dir, { "history", "-r", c[1] })
        assert.equal(c[2], r.code, c[1] .. ": " .. r.err)
        assert.equal("lmigrate: error: " .. c[3] .. "\n", r.err)
        assert.equal("", r.out)
      end
      local r = run(dir, "history -r aaa111:ccc333")
      assert.equal(0, r.code, r.err)
      assert.equal(3, select(2, r.out:gsub("\n", "")))
      r = run(dir, "show +1")
      assert.equal(2, r.code, r.err)
    end)

    it("well-formed targets still run, label@base+N downgrades too", function()
      local dir, url = setup(backend)
      local r = run(dir, "upgrade feature@+1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
      r = run(dir, "upgrade head-1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      r = run(dir, "upgrade heads")
      assert.equal(0, r.code, r.err)
      r = run(dir, "downgrade feature@base+1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
      r = run(dir, "stamp feature@head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "ccc333")
    end)
  end)
end
