-- pg_ident_spec.lua: identifiers over PostgreSQL's 63 bytes are refused by
-- the PostgreSQL dialect (src/dialect_pg.c) in every op that renders one,
-- since the server would silently cut them to 63 bytes; SQLite renders
-- them whole. Through lmigrate.core's render() (the offline backend).
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

local L64 = string.rep("L", 64)
local L63 = string.rep("L", 63)

-- Each op once with a 64-byte name where the check must catch it.
local CASES = {
  { "create_table name", function(op) op.create_table(L64, { "id", "integer" }) end },
  { "create_table schema", function(op) op.create_table(L64 .. ".t", { "id", "integer" }) end },
  { "create_table column", function(op) op.create_table("t", { L64, "integer" }) end },
  { "create_table references", function(op)
      op.create_table("t", { "a", "integer", references = "u." .. L64 }) end },
  { "drop_table", function(op) op.drop_table(L64) end },
  { "rename_table from", function(op) op.rename_table(L64, "t") end },
  { "rename_table to", function(op) op.rename_table("t", L64) end },
  { "add_column table", function(op) op.add_column(L64, { "a", "integer" }) end },
  { "add_column column", function(op) op.add_column("t", { L64, "integer" }) end },
  { "drop_column table", function(op) op.drop_column(L64, "a") end },
  { "drop_column column", function(op) op.drop_column("t", L64) end },
  { "create_index name", function(op) op.create_index(L64, "t", "a") end },
  { "create_index table", function(op) op.create_index("ix", L64, "a") end },
  { "create_index column", function(op) op.create_index("ix", "t", { "a", L64 }) end },
  { "drop_index", function(op) op.drop_index(L64) end },
  { "drop_index table", function(op) op.drop_index("ix", { table = L64 .. ".t" }) end },
  { "alter_column column", function(op) op.alter_column("t", L64, { nullable = false }) end },
  { "alter_column new_name", function(op) op.alter_column("t", "a", { new_name = L64 }) end },
  { "create_foreign_key name", function(op)
      op.create_foreign_key(L64, "t", "u", { "a" }, { "id" }) end },
  { "create_foreign_key referent", function(op)
      op.create_foreign_key("fk", "t", L64, { "a" }, { "id" }) end },
  { "create_foreign_key columns", function(op)
      op.create_foreign_key("fk", "t", "u", { "a" }, { L64 }) end },
  { "create_unique_constraint column", function(op)
      op.create_unique_constraint("uq", "t", { L64 }) end },
  { "create_check_constraint name", function(op)
      op.create_check_constraint(L64, "t", "a > 0") end },
  { "drop_constraint", function(op) op.drop_constraint(L64, "t") end },
  { "create_table_comment", function(op) op.create_table_comment(L64, "x") end },
  { "create_schema", function(op) op.create_schema(L64) end },
  { "drop_schema", function(op) op.drop_schema(L64) end },
}

describe("PostgreSQL identifier length #unit", function()
  for _, c in ipairs(CASES) do
    it("refuses a 64-byte name: " .. c[1], function()
      local ok, e = pcall(core.render, "postgresql", c[2])
      assert.is_false(ok, c[1] .. " rendered")
      assert.matches('identifier "' .. L64 .. '" is 64 bytes long; PostgreSQL keeps only ' ..
        "the first 63 (two long names could become one): use a shorter name",
        tostring(e), 1, true)
    end)
  end

  it("accepts 63 bytes", function()
    local sql = core.render("postgresql", function(op)
      op.create_table(L63 .. "." .. L63, { L63, "integer", references = L63 .. "." .. L63 })
      op.create_index(L63, L63, L63)
      op.alter_column(L63, L63, { new_name = L63 })
    end)
    assert.matches('CREATE TABLE "' .. L63 .. '"."' .. L63 .. '"', sql, 1, true)
  end)

  it("counts bytes, not characters", function()
    local ok, e = pcall(core.render, "postgresql", function(op)
      op.create_table(string.rep("é", 32), { "id", "integer" })   -- 64 bytes
    end)
    assert.is_false(ok)
    assert.matches("is 64 bytes long", tostring(e), 1, true)
  end)

  it("leaves SQLite's names whole", function()
    local sql = core.render("sqlite", function(op)
      op.create_table(L64, { L64, "integer" })
    end)
    assert.matches('CREATE TABLE "' .. L64 .. '"', sql, 1, true)
  end)
end)
