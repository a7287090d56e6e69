-- prefer-bigint-over-int: a 32-bit primary key runs out at 2,147,483,647,
-- and widening it later rewrites the table and every referencing one.
local lint = require("lmigrate.lint")

local INT = { integer = true, int = true, int4 = true, serial = true,
              serial4 = true, smallint = true, int2 = true,
              smallserial = true, serial2 = true }

local function check_col(c, t)
  if c and c.primary_key and INT[lint.norm_type(c.type)] then
    return { message = ("primary key %q.%q is %s: 32 bits or less run out, "
      .. "and widening it later rewrites the table"):format(t, c.name, c.type) }
  end
end

return {
  name = "prefer-bigint-over-int",
  severity = "warning",
  style = true,      -- a design choice, not a lock: `lint` only, not `upgrade`
  dialects = { postgresql = true },
  why = "integer keys overflow; changing them later rewrites the table",
  fix = "use bigint for primary keys",
  check = function(rec)
    return lint.first_new_column(rec, check_col)
  end,
}
