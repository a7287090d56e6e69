-- spec/integration/autogen_chinook_spec.lua: the round trip on a schema
-- no one here wrote, the public Chinook sample database (a music store;
-- https://github.com/lerocha/chinook-database, by Luis Rocha, MIT; the DDL
-- typed into spec/fixtures/chinook/). Create it by plain SQL, `schema
-- dump` it, autogenerate from the dump on an empty database, upgrade, and
-- compare the two databases' reflections: identical.

local h = require "helpers"
local A = require "helpers.autogen"

local FIXTURE = {
  sqlite = h.root .. "/spec/fixtures/chinook/chinook_sqlite.sql",
  postgres = h.root .. "/spec/fixtures/chinook/chinook_postgresql.sql",
}

for _, backend in ipairs(h.each_backend()) do
  describe("Chinook round trip on " .. backend .. " #integration #" .. backend, function()
    it("dump -> autogenerate on an empty database -> upgrade gives the same schema", function()
      local dir, url = A.project(backend)
      h.query(url, h.read(FIXTURE[backend]))
      local original = A.reflect(url)
      local n = 0
      for _ in pairs(original.tables) do n = n + 1 end
      assert.equal(11, n)

      -- adopting the database: dump, then check compares clean
      local r = A.run(dir, { "schema", "dump", "--output", "schema.lua" })
      assert.equal(0, r.code, r.err)
      r = A.run(dir, { "check" })
      assert.equal(0, r.code, r.out .. r.err)

      local dir2, url2 = A.project(backend)
      h.write(dir2 .. "/schema.lua", h.read(dir .. "/schema.lua"))
      r = A.run(dir2, { "revision", "--autogenerate", "-m", "chinook" })
      assert.equal(0, r.code, r.err)
      assert.matches("Detected added table 'Track'", r.out, 1, true)
      r = A.run(dir2, { "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      r = A.run(dir2, { "check" })
      assert.equal(0, r.code, r.out .. r.err)
      assert.same(original, A.reflect(url2))
    end)
  end)
end
