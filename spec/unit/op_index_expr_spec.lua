-- op_index_expr_spec.lua: expression entries { expr = "sql" } in
-- op.create_index's column list (src/op_index.c), rendered in parentheses
-- by both dialects (lm_dialect_render_index_cols), and their errors.
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

describe("create_index with expressions #unit", function()
  for _, d in ipairs({ "sqlite", "postgresql" }) do
    it("renders names quoted and expressions in parentheses on " .. d, function()
      local sql = core.render(d, function(op)
        op.create_index("ix_a", "users", { "id", { expr = "lower(email)" } },
                        { unique = true, where = "id > 0" })
      end)
      assert.equal('CREATE UNIQUE INDEX "ix_a" ON "users" ("id", (lower(email))) ' ..
                   'WHERE id > 0;\n', sql:match("^%s*(.-\n)"))
    end)
  end

  it("still takes a single column name or a list of names", function()
    assert.matches('ON "users" %("email"%)', core.render("sqlite", function(op)
      op.create_index("ix_b", "users", "email")
    end))
    assert.matches('ON "users" %("a", "b"%)', core.render("postgresql", function(op)
      op.create_index("ix_b", "users", { "a", "b" })
    end))
  end)

  local function err(fn)
    local ok, e = pcall(core.render, "sqlite", fn)
    assert.is_false(ok)
    return tostring(e)
  end

  it("refuses an expression table with another key", function()
    assert.matches("column 2: an expression is written { expr = \"sql\" } and takes no other key",
      err(function(op) op.create_index("ix", "t", { "a", { exp = "x" } }) end), 1, true)
  end)

  it("refuses an empty or non-string expression", function()
    assert.matches("column 1: expr must be a non-empty SQL expression",
      err(function(op) op.create_index("ix", "t", { { expr = "" } }) end), 1, true)
    assert.matches("column 1: expr must be a non-empty SQL expression",
      err(function(op) op.create_index("ix", "t", { { expr = 3 } }) end), 1, true)
  end)

  it("refuses other values in the list", function()
    assert.matches("column 2 must be a non-empty column name",
      err(function(op) op.create_index("ix", "t", { "a", 7 }) end), 1, true)
  end)
end)
