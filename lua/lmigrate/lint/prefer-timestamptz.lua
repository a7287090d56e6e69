-- prefer-timestamptz: timestamp without time zone stores wall-clock time
-- and silently shifts when clients or servers change time zone.
local lint = require("lmigrate.lint")

local function naive(ty)
  ty = lint.norm_type(ty)
  return ty == "timestamp" or ty:match("^timestamp%(%d+%)$") ~= nil or
    ty:match("^timestamp[%(%d%)]* without time zone$") ~= nil
end

local function check_col(c, t)
  if c and naive(c.type) then
    return { message = ("column %q.%q is %s (without time zone)")
      :format(t, c.name, c.type) }
  end
end

return {
  name = "prefer-timestamptz",
  severity = "warning",
  style = true,      -- a design choice, not a lock: `lint` only, not `upgrade`
  dialects = { postgresql = true },
  why = "timestamp without time zone is ambiguous",
  fix = "use timestamptz",
  check = function(rec)
    local a = rec.args
    if rec.op == "create_table" or rec.op == "add_column" then
      return lint.first_new_column(rec, check_col)
    elseif rec.op == "alter_column" and type(a[3]) == "table" and naive(a[3].type) then
      return { message = ("column %q.%q changes to %s (without time zone)")
        :format(a[1], a[2], a[3].type) }
    end
  end,
}
