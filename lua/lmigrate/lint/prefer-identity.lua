-- prefer-identity: serial types are a sequence plus a default with loose
-- ownership and permissions; identity columns (autoincrement = true on
-- PostgreSQL) are the SQL-standard replacement.
local lint = require("lmigrate.lint")

local function check_col(c, t)
  if c and lint.norm_type(c.type):match("serial%d?$") then
    return { message = ("column %q.%q uses %s"):format(t, c.name, c.type) }
  end
end

return {
  name = "prefer-identity",
  severity = "warning",
  style = true,      -- a design choice, not a lock: `lint` only, not `upgrade`
  dialects = { postgresql = true },
  why = "serial is superseded by identity columns",
  fix = "use { \"id\", \"bigint\", primary_key = true, autoincrement = true } "
    .. "(an identity column)",
  check = function(rec)
    return lint.first_new_column(rec, check_col)
  end,
}
