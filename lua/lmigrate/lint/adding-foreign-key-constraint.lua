-- adding-foreign-key-constraint: ADD FOREIGN KEY takes SHARE ROW
-- EXCLUSIVE on both tables and, unless NOT VALID, checks every row while
-- holding it: writes to both tables wait.
local lint = require("lmigrate.lint")

return {
  name = "adding-foreign-key-constraint",
  severity = "error",
  dialects = { postgresql = true },
  why = "validating a new foreign key blocks writes to both tables",
  fix = "create_foreign_key(..., { not_valid = true }), then "
    .. "op.validate_constraint(table, name) in a later revision",
  check = function(rec, ctx)
    local a = rec.args
    if rec.op == "create_foreign_key" then
      local o = type(a[6]) == "table" and a[6] or {}
      if o.not_valid or ctx.is_new(a[2]) then return nil end
      return { table = a[2], scans = true,
               message = ("foreign key %q on existing table %q is validated "
                 .. "while writes to %q and %q wait"):format(a[1], a[2], a[2], a[3]) }
    elseif rec.op == "add_column" then
      local c = lint.colspec(a[2])
      if not c or not c.references or ctx.is_new(a[1]) then return nil end
      return { severity = "warning",
               message = ("column %q added to existing table %q with a "
                 .. "foreign key to %s: takes SHARE ROW EXCLUSIVE on both "
                 .. "tables"):format(c.name, a[1], c.references),
               fix = "add the column without references, then "
                 .. "create_foreign_key(..., { not_valid = true }) and "
                 .. "validate it in a later revision" }
    end
  end,
}
