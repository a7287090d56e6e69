-- spec/integration/missing_db_spec.lua: a SQLite URL naming a file that
-- does not exist. Commands that only read (current, validate, history -i)
-- fail and create nothing; commands that write (upgrade, stamp) create it.

local h = require "helpers"

local REV = {
  file = "aaa111_rev.lua",
  text = [[
return {
  revision = "aaa111",
  down_revision = nil,
  upgrade = function(op) op.create_table("t", { "id", "integer", primary_key = true }) end,
  downgrade = function(op) op.drop_table("t") end,
}
]],
}

local function wants_sqlite()
  for _, b in ipairs(h.each_backend()) do
    if b == "sqlite" then return true end
  end
  return false
end

-- A project whose config names no URL; each run passes -u.
local function project()
  local dir = h.tmpdir()
  h.project(dir, { REV }, { config = 'return { script_location = "versions" }\n' })
  return dir
end

local function run(dir, url, args)
  local t = { "-u", url }
  for w in args:gmatch("%S+") do t[#t + 1] = w end
  return h.run(t, { cwd = dir })
end

if wants_sqlite() then
  describe("a missing SQLite database file #integration #sqlite", function()
    it("is an error for the commands that only read, and is not created", function()
      local dir = project()
      for _, path in ipairs({ dir .. "/typo.db", dir .. "/no/such/dir/x.db" }) do
        for _, args in ipairs({ "current", "current --json", "validate", "history -i",
                                "history -r current:" }) do
          local r = run(dir, "sqlite:" .. path, args)
          assert.equal(1, r.code, args .. ": " .. r.err)
          assert.equal("", r.out, args)
          assert.equal("lmigrate: error: database file '" .. path .. "' does not exist " ..
            "(check the URL; `lmigrate upgrade` creates it)\n", r.err, args)
          assert.is_false(h.exists(path), args .. " created " .. path)
        end
      end
    end)

    it("does not matter to the commands that do not connect", function()
      local dir = project()
      local path = dir .. "/typo.db"
      for _, args in ipairs({ "heads", "history", "show aaa111", "branches" }) do
        local r = run(dir, "sqlite:" .. path, args)
        assert.equal(0, r.code, args .. ": " .. r.err)
      end
      assert.is_false(h.exists(path))
    end)

    it("is created by upgrade and by stamp", function()
      local dir = project()
      local up, st = dir .. "/up.db", dir .. "/stamp.db"
      local r = run(dir, "sqlite:" .. up, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(up, "aaa111")
      r = run(dir, "sqlite:" .. up, "current")
      assert.equal(0, r.code, r.err)
      assert.equal("aaa111 (head)\n", r.out)
      r = run(dir, "sqlite:" .. st, "stamp aaa111")
      assert.equal(0, r.code, r.err)
      assert.version_is(st, "aaa111")
    end)

    it("an existing empty file and :memory: are databases with nothing applied", function()
      local dir = project()
      local path = h.write(dir .. "/empty.db", "")
      for _, url in ipairs({ "sqlite:" .. path, "sqlite::memory:" }) do
        for _, args in ipairs({ "current", "validate", "history -i" }) do
          local r = run(dir, url, args)
          assert.equal(0, r.code, url .. " " .. args .. ": " .. r.err)
        end
      end
      assert.same({}, h.tables(path))
    end)
  end)
end
