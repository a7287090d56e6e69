-- spec/integration/interrupt_spec.lua: Ctrl-C (SIGINT) in the middle of a
-- revision. The runner itself says what the database holds afterwards and
-- how to go on, in each case (transactional revision, non-transactional
-- revision, data phase), and exits 130.

local h = require "helpers"
local Q = h.quote

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

-- Lua for a revision body: write the file `stopped-here`, then spin until
-- the interrupt stops the script (only when LM_SPIN is set).
local SPIN = [[if os.getenv("LM_SPIN") then
      io.open("stopped-here", "w"):close()
      while true do end
    end]]

local base_rev = rev("aaa111", nil, [[
  upgrade = function(op)
    op.create_table("items", { "id", "integer", primary_key = true }, { "v", "text" })
    op.execute("INSERT INTO items (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
  end,
  downgrade = function(op) op.drop_table("items") end,]])

local tx_rev = rev("bbb222", "aaa111", [[
  upgrade = function(op)
    op.create_table("t_bbb222", { "id", "integer", primary_key = true })
    ]] .. SPIN .. [[
  end,
  downgrade = function(op) op.drop_table("t_bbb222") end,]])

local nontx_rev = rev("bbb222", "aaa111", [[
  transactional = false,
  upgrade = function(op)
    op.create_table("t_bbb222", { "id", "integer", primary_key = true })
    ]] .. SPIN .. [[
  end,
  downgrade = function(op) op.drop_table("t_bbb222") end,]])

local data_rev = rev("bbb222", "aaa111", [[
  upgrade = function(op) op.add_column("items", { "w", "text" }) end,
  data = function(op)
    op.execute("UPDATE items SET w = upper(v) WHERE id = 1")
    ]] .. SPIN .. [[
    op.execute("UPDATE items SET w = upper(v) WHERE w IS NULL")
  end,
  downgrade = function(op) op.drop_column("items", "w") end,]])

for _, backend in ipairs(h.each_backend()) do
  describe("interrupts [" .. backend .. "] #integration #" .. backend, function()
    local dir, url

    local function setup(revs)
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      -- lint = "off": the spinning revisions must spin in the run itself,
      -- not in upgrade's lint pass, which renders them first
      h.project(dir, revs, { config = "return { script_location = \"versions\", lint = \"off\" }\n" })
    end

    local function run(args)
      return h.run(args, { cwd = dir, env = { LMIGRATE_URL = url } })
    end

    -- `upgrade head` in the background with LM_SPIN set; SIGINT once the
    -- revision wrote stopped-here. Returns the exit status and stderr.
    local function interrupted_upgrade()
      local cmd = ("cd %s && { { env -u DATABASE_URL LMIGRATE_URL=%s XDG_CACHE_HOME=%s " ..
        "LM_SPIN=1 %s upgrade head >out.log 2>err.log & echo $! >pid.txt; wait $!; " ..
        "echo $? >rc.txt; } </dev/null >/dev/null 2>&1 & }"):format(Q(dir), Q(url),
        Q(dir .. "/cache"), Q(h.bin()))
      os.execute(cmd)
      local deadline = os.time() + 60
      while not h.exists(dir .. "/stopped-here") and not h.exists(dir .. "/rc.txt")
            and os.time() < deadline do
        os.execute("sleep 0.05")
      end
      local pid = h.read(dir .. "/pid.txt"):match("%d+")
      os.execute(("kill -INT %s 2>/dev/null"):format(pid))
      while not h.exists(dir .. "/rc.txt") and os.time() < deadline do os.execute("sleep 0.05") end
      os.execute("sleep 0.1")
      return tonumber(h.read(dir .. "/rc.txt")), h.read(dir .. "/err.log")
    end

    it("in a transactional revision: rolled back, earlier ones applied, run again", function()
      setup({ base_rev, tx_rev })
      local code, err = interrupted_upgrade()
      assert.equal(130, code, err)
      assert.matches("lmigrate: error: revision bbb222 (versions/bbb222_rev.lua) was " ..
        "interrupted and was rolled back; revisions before it stay applied; run the " ..
        "command again to continue", err, 1, true)
      assert.version_is(url, { "aaa111" })
      assert.has_no_table(url, "t_bbb222")
      local r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, { "bbb222" })
    end)

    it("in a non-transactional revision: NOT rolled back, recorded as failed", function()
      setup({ base_rev, nontx_rev })
      local code, err = interrupted_upgrade()
      assert.equal(130, code, err)
      assert.matches("lmigrate: error: non-transactional revision bbb222 " ..
        "(versions/bbb222_rev.lua) was interrupted part-way: what its ops did before " ..
        "it stopped was NOT rolled back, and it is recorded as failed", err, 1, true)
      assert.version_is(url, { "aaa111" })
      assert.has_table(url, "t_bbb222")
      local cur = run("current")
      assert.matches("bbb222 (FAILED at", cur.out, 1, true)
      local r = run("upgrade head")
      assert.equal(1, r.code)
      assert.matches("may be partly applied", r.err, 1, true)
    end)

    it("in a data phase: schema and committed data stay, upgrade resumes", function()
      setup({ base_rev, data_rev })
      local code, err = interrupted_upgrade()
      assert.equal(130, code, err)
      assert.matches("lmigrate: error: the data phase of revision bbb222 " ..
        "(versions/bbb222_rev.lua) was interrupted: its schema change and what its " ..
        "data phase committed (backfill batches) stay, the revision is not marked " ..
        "applied; to go on, run `lmigrate upgrade` again", err, 1, true)
      assert.version_is(url, { "aaa111" })
      assert.has_column(url, "items", "w")
      assert.same({ { "A" } }, h.query(url, "SELECT w FROM items WHERE id = 1"))
      assert.matches("bbb222 (in data phase", run("current").out, 1, true)
      local r = run("upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("Resuming the data phase of bbb222", r.out, 1, true)
      assert.version_is(url, { "bbb222" })
      assert.same({ { "0" } }, h.query(url, "SELECT count(*) FROM items WHERE w IS NULL"))
    end)
  end)
end
