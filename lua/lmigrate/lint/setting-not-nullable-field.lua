-- setting-not-nullable-field: SET NOT NULL scans the whole table under
-- ACCESS EXCLUSIVE, unless (PostgreSQL 12+) a validated CHECK (col IS NOT
-- NULL) already proves it.
local lint = require("lmigrate.lint")

local function proves_not_null(cond, col)
  if type(cond) ~= "string" then return false end
  local c = cond:lower():gsub('[%s"%(%)]', "")
  return c == col:lower() .. "isnotnull"
end

return {
  name = "setting-not-nullable-field",
  severity = "error",
  dialects = { postgresql = true },
  why = "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE",
  fix = "op.create_check_constraint(name, table, 'col IS NOT NULL', "
    .. "{ not_valid = true }); op.validate_constraint(table, name) in a later "
    .. "revision; then alter_column(nullable = false) (PostgreSQL 12+ skips "
    .. "the scan) and drop the CHECK",
  check = function(rec, ctx)
    if rec.op ~= "alter_column" then return nil end
    local t, col, o = rec.args[1], rec.args[2], rec.args[3]
    if type(o) ~= "table" or o.nullable ~= false or ctx.is_new(t) then
      return nil
    end
    local m = ctx.table(t)
    if m then
      for _, ck in pairs(m.checks) do
        if ck.kind == "check" and ck.validated and proves_not_null(ck.cond, col) then
          return nil
        end
      end
    end
    return { table = t, scans = true,
             message = ("SET NOT NULL on %q.%q scans the whole table under "
               .. "ACCESS EXCLUSIVE: no validated CHECK (%s IS NOT NULL) "
               .. "precedes it"):format(t, col, col) }
  end,
}
