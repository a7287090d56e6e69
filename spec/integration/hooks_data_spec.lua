-- Config hooks and the revision data phase, on every backend.
local h = require "helpers"

-- A revision file: fields is extra Lua text inside the returned table.
local function rev(id, down, fields)
  return {
    file = id .. "_rev.lua",
    text = table.concat({
      "return {",
      "  revision = " .. ("%q"):format(id) .. ",",
      "  down_revision = " .. (down and ("%q"):format(down) or "nil") .. ",",
      "  message = " .. ("%q"):format("rev " .. id) .. ",",
      fields,
      "}",
      "",
    }, "\n"),
  }
end

local base_rev = rev("aaa111", nil, [[
  upgrade = function(op)
    op.create_table("people", { "id", "integer", primary_key = true },
                    { "name", "text" })
    for i = 1, 5 do
      op.execute("INSERT INTO people (id, name) VALUES ($1, $2)", { i, "p" .. i })
    end
  end,
  downgrade = function(op) op.drop_table("people") end,]])

local data_rev = rev("bbb222", "aaa111", [[
  upgrade = function(op) op.add_column("people", { "shout", "text" }) end,
  data = function(op)
    op.execute("UPDATE people SET shout = upper(name) WHERE shout IS NULL")
    if os.getenv("LM_FAIL_DATA") then error("data went wrong") end
  end,
  data_downgrade = function(op) op.execute("UPDATE people SET shout = NULL") end,
  downgrade = function(op) op.drop_column("people", "shout") end,]])

-- A root revision with a data phase: a backfill of 5 rows that fails
-- after its batches committed when LM_FAIL_DATA is set; data_downgrade
-- records that it ran in the table `audit` (created by the spec).
local function pets_rev(id, down)
  return rev(id, down, [[
  upgrade = function(op)
    op.create_table("pets", { "id", "integer", primary_key = true },
                    { "name", "text" })
    for i = 1, 5 do
      op.execute("INSERT INTO pets (id, name) VALUES ($1, $2)", { i, "pet" .. i })
    end
  end,
  data = function(op)
    op.backfill{ table = "pets", key = "id", set = "name = upper(name)", batch_size = 2 }
    if os.getenv("LM_FAIL_DATA") then error("data went wrong") end
  end,
  data_downgrade = function(op)
    op.execute("INSERT INTO audit (what) VALUES ('data_downgrade')")
  end,
  downgrade = function(op) op.drop_table("pets") end,]])
end
local data_root = pets_rev("ddd444", nil)

-- Hooks that print one line per call: HOOK <hook> <revision> <direction>
-- <phase> <rows>.
local trace_hooks = [[hooks = {
  before_revision = function(ctx) io.stderr:write(("HOOK before %s %s %s %d\n"):format(ctx.revision, ctx.direction, ctx.phase, ctx.rows)) end,
  after_revision = function(ctx) io.stderr:write(("HOOK after %s %s %s %d\n"):format(ctx.revision, ctx.direction, ctx.phase, ctx.rows)) end,
  on_error = function(ctx) io.stderr:write(("HOOK on_error %s %s %s %d\n"):format(ctx.revision, ctx.direction, ctx.phase, ctx.rows)) end,
}]]

for _, backend in ipairs(h.each_backend()) do
  describe("hooks and the data phase [" .. backend .. "] #integration #" .. backend, function()
    local dir, url

    local function setup(revs, config_body)
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, revs, config_body and {
        config = "return { script_location = \"versions\", " .. config_body .. " }\n",
      } or nil)
    end

    local function run(args, env)
      local e = { LMIGRATE_URL = url }
      for k, v in pairs(env or {}) do e[k] = v end
      return h.run(args, { cwd = dir, env = e })
    end

    local function history()
      return h.query(url, "SELECT revision, direction, outcome FROM " ..
                          "lmigrate_version_history ORDER BY id")
    end

    it("a data phase runs after upgrade and before the revision is applied", function()
      setup({ base_rev, data_rev })
      local r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222" })
      local rows = h.query(url, "SELECT shout FROM people ORDER BY id")
      assert.same({ { "P1" }, { "P2" }, { "P3" }, { "P4" }, { "P5" } }, rows)
      assert.same({ { "aaa111", "up", "applied" }, { "bbb222", "up", "data" },
                    { "bbb222", "up", "applied" } }, history())
    end)

    it("a failed data phase keeps the schema, is shown by current, and resumes", function()
      setup({ base_rev, data_rev })
      local r = run("upgrade head", { LM_FAIL_DATA = "1" })
      assert.equal(1, r.code)
      assert.matches("versions/bbb222_rev.lua:%d+: data went wrong", r.err)
      assert.matches("the data phase of revision bbb222", r.err, 1, true)
      assert.version_is(url, { "aaa111" })
      assert.has_column(url, "people", "shout")
      local cur = run("current")
      assert.equal(0, cur.code, cur.err)
      assert.matches("bbb222 (in data phase", cur.out, 1, true)
      r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("Resuming the data phase of bbb222", r.out, 1, true)
      assert.version_is(url, { "bbb222" })
      assert.same({ { "P1" } }, h.query(url, "SELECT shout FROM people WHERE id = 1"))
    end)

    it("downgrade runs data_downgrade before downgrade", function()
      setup({ base_rev, data_rev })
      assert.equal(0, run("upgrade head").code)
      local r = run("downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "aaa111" })
      assert.has_no_column(url, "people", "shout")
    end)

    it("a data phase is rendered by --sql (issue 12), refused in a single-transaction run", function()
      setup({ base_rev, data_rev })
      local r = run("upgrade head --sql")
      assert.equal(0, r.code, r.err)
      -- the data phase's own SQL, after the schema change and its 'data' row
      assert.matches("UPDATE people SET shout = upper(name) WHERE shout IS NULL;", r.out, 1, true)
      setup({ base_rev, data_rev }, "transaction_per_migration = false")
      r = run("upgrade head")
      assert.equal(1, r.code)
      assert.matches("transaction_per_migration = false", r.err, 1, true)
      assert.version_is(url, {})
    end)

    it("hooks run around the run and each revision with a context", function()
      setup({ base_rev, data_rev }, [[hooks = {
        before_upgrade = function(ctx) io.stderr:write("HOOK before_upgrade ", ctx.direction, "\n") end,
        before_revision = function(ctx) io.stderr:write("HOOK before_revision ", ctx.revision, "\n") end,
        after_revision = function(ctx)
          io.stderr:write("HOOK after_revision ", ctx.revision, " ", ctx.message, " ",
                          type(ctx.elapsed_ms), "\n")
        end,
        after_upgrade = function(ctx) io.stderr:write("HOOK after_upgrade ", ctx.url, "\n") end,
      }]])
      local r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      local seen = {}
      for line in r.err:gmatch("HOOK [^\n]*") do seen[#seen + 1] = line end
      assert.same({
        "HOOK before_upgrade up",
        "HOOK before_revision aaa111",
        "HOOK after_revision aaa111 rev aaa111 number",
        "HOOK before_revision bbb222",
        "HOOK after_revision bbb222 rev bbb222 number",
        "HOOK after_upgrade " .. (url:gsub(":[^:@/]*@", ":***@")),
      }, seen)
    end)

    it("a raising before_revision hook fails that revision with its file:line", function()
      setup({ base_rev, data_rev }, [[hooks = {
        before_revision = function(ctx)
          if ctx.revision == "bbb222" then error("not today") end
        end,
        on_error = function(ctx) io.stderr:write("ON_ERROR ", ctx.revision, " ", ctx.error, "\n") end,
      }]])
      local r = run("upgrade head")
      assert.equal(1, r.code)
      assert.matches("lmigrate: error: lmigrate.lua:3: not today (in the before_revision hook)",
                     r.err, 1, true)
      assert.matches("ON_ERROR bbb222 lmigrate.lua:3: not today", r.err, 1, true)
      assert.version_is(url, { "aaa111" })
      assert.has_no_column(url, "people", "shout")
      local rows = history()
      assert.same({ "bbb222", "up", "failed" }, rows[#rows])
    end)

    -- The HOOK lines of a run's stderr.
    local function hook_lines(err)
      local seen = {}
      for line in err:gmatch("HOOK [^\n]*") do seen[#seen + 1] = line end
      return seen
    end

    it("downgrade base backs out a revision stuck in its data phase", function()
      setup({ data_root })
      h.query(url, "CREATE TABLE audit (what TEXT)")
      local r = run("upgrade head", { LM_FAIL_DATA = "1" })
      assert.equal(1, r.code)
      assert.version_is(url, {})
      assert.has_table(url, "pets")
      assert.matches("ddd444 (in data phase", run("current").out, 1, true)
      r = run("downgrade base")
      assert.equal(0, r.code, r.err)
      assert.matches("Backing out ddd444, which is in its data phase", r.out, 1, true)
      assert.not_matches("Nothing to downgrade", r.out, 1, true)
      assert.has_no_table(url, "pets")
      assert.same({ { "data_downgrade" } }, h.query(url, "SELECT what FROM audit"))
      assert.same({ { "0" } }, h.query(url, "SELECT count(*) FROM lmigrate_backfill"))
      assert.version_is(url, {})
      local rows = history()
      assert.same({ "ddd444", "down", "applied" }, rows[#rows])
      local cur = run("current")
      assert.equal(0, cur.code, cur.err)
      assert.equal("", cur.out)
      -- upgrading again starts from scratch: the backfill walks again
      r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "ddd444" })
      assert.same({ { "PET1" } }, h.query(url, "SELECT name FROM pets WHERE id = 1"))
    end)

    it("downgrade to the revision below backs out one in its data phase", function()
      setup({ base_rev, data_rev })
      local r = run("upgrade head", { LM_FAIL_DATA = "1" })
      assert.equal(1, r.code)
      assert.has_column(url, "people", "shout")
      r = run("downgrade aaa111")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "aaa111" })
      assert.has_no_column(url, "people", "shout")
      assert.has_column(url, "people", "name")
      local cur = run("current")
      assert.equal(0, cur.code, cur.err)
      assert.not_matches("data phase", cur.out, 1, true)
      assert.matches("aaa111", cur.out, 1, true)
      r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.not_matches("Resuming", r.out, 1, true)
      assert.version_is(url, { "bbb222" })
    end)

    it("stamp clears an unfinished data phase and warns what stays", function()
      setup({ data_root })
      assert.equal(1, run("upgrade head", { LM_FAIL_DATA = "1" }).code)
      local r = run("stamp base")
      assert.equal(0, r.code, r.err)
      assert.matches("Stamped <base>", r.out, 1, true)
      assert.matches("lmigrate: warning: revision ddd444 was in its data phase; " ..
                     "stamp base marks it as not applied", r.err, 1, true)
      local cur = run("current")
      assert.equal(0, cur.code, cur.err)
      assert.equal("", cur.out)
      local rows = history()
      assert.same({ "ddd444", "down", "stamped" }, rows[#rows])
      assert.same({ "ddd444", "up", "data" }, rows[1])
      -- stamping it applied ends the data phase as well
      setup({ data_root })
      assert.equal(1, run("upgrade head", { LM_FAIL_DATA = "1" }).code)
      r = run("stamp ddd444")
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      cur = run("current")
      assert.equal("ddd444 (head)\n", cur.out)
      assert.matches("Nothing to upgrade", run("upgrade head").out, 1, true)
    end)

    it("hook contexts carry phase and rows", function()
      setup({ base_rev, pets_rev("ddd444", "aaa111") }, trace_hooks)
      h.query(url, "CREATE TABLE audit (what TEXT)")
      local r = run("upgrade head", { LM_FAIL_DATA = "1" })
      assert.equal(1, r.code)
      assert.same({
        "HOOK before aaa111 up schema 0",
        "HOOK after aaa111 up schema 0",
        "HOOK before ddd444 up schema 0",
        "HOOK on_error ddd444 up data 5",
      }, hook_lines(r.err))
      -- resuming: the backfill is done (checkpoint), so no rows this run
      r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.same({ "HOOK before ddd444 up data 0", "HOOK after ddd444 up data 0" },
                  hook_lines(r.err))
      r = run("downgrade -1")
      assert.equal(0, r.code, r.err)
      assert.same({ "HOOK before ddd444 down data 0", "HOOK after ddd444 down schema 0" },
                  hook_lines(r.err))
      r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.same({ "HOOK before ddd444 up schema 0", "HOOK after ddd444 up data 5" },
                  hook_lines(r.err))
    end)

    it("a failing after_revision hook on downgrade says the revision was reverted", function()
      setup({ base_rev, data_rev }, [[hooks = {
        after_revision = function(ctx)
          if ctx.direction == "down" then error("hook says no") end
        end,
      }]])
      assert.equal(0, run("upgrade head").code)
      local r = run("downgrade base")
      assert.equal(1, r.code)
      assert.matches("lmigrate: error: revision bbb222 was reverted; the run stopped " ..
                     "after it because the after_revision hook failed", r.err, 1, true)
      assert.not_matches("is applied", r.err, 1, true)
      assert.version_is(url, { "aaa111" })
    end)

    it("an unknown hook name is an error with a suggestion", function()
      setup({ base_rev }, "hooks = { after_revison = function() end }")
      local r = run("upgrade head")
      assert.equal(1, r.code)
      assert.matches("unknown hook 'after_revison' (did you mean 'after_revision'?)",
                     r.err, 1, true)
      assert.version_is(url, {})
    end)
  end)
end
