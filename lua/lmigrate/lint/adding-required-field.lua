-- adding-required-field: ADD COLUMN ... NOT NULL without a default fails
-- on a table that has rows, and code still running without the column
-- cannot insert into the table.
local lint = require("lmigrate.lint")

return {
  name = "adding-required-field",
  severity = "error",
  why = "a NOT NULL column without a default fails on a table with rows",
  fix = "add it nullable (or with a constant server_default), backfill it "
    .. "with op.backfill, then make it NOT NULL (see setting-not-nullable-field)",
  check = function(rec, ctx)
    if rec.op ~= "add_column" then return nil end
    local t, c = rec.args[1], lint.colspec(rec.args[2])
    if not c or c.nullable or ctx.is_new(t) then return nil end
    if c.default ~= nil or c.server_default ~= nil or c.autoincrement or
       lint.norm_type(c.type):match("serial") then
      return nil
    end
    local rows = ctx.size(t)
    if rows == 0 then return nil end
    return { message = ("NOT NULL column %q without a default added to "
      .. "existing table %q: fails when the table has rows"):format(c.name, t) }
  end,
}
