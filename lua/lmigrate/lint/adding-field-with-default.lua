-- adding-field-with-default: since PostgreSQL 11 a constant default costs
-- nothing, but a VOLATILE one (random(), gen_random_uuid(),
-- clock_timestamp(), nextval(), serial types, identity) is evaluated per
-- row: the whole table is rewritten under ACCESS EXCLUSIVE.
local lint = require("lmigrate.lint")

-- Functions whose value is fixed for the statement (STABLE/IMMUTABLE).
local STABLE = {
  now = true, current_timestamp = true, current_date = true,
  current_time = true, localtimestamp = true, localtime = true,
  transaction_timestamp = true, statement_timestamp = true,
  current_user = true, session_user = true, lower = true, upper = true,
}

local function volatile(expr)
  if type(expr) ~= "string" then return false end
  local e = expr:lower():gsub("'[^']*'", "''")
  for fn in e:gmatch("([%a_][%w_%.]*)%s*%(") do
    if not STABLE[fn] and fn ~= "cast" then return fn end
  end
  return false
end

return {
  name = "adding-field-with-default",
  severity = "error",
  dialects = { postgresql = true },
  why = "a volatile default rewrites the whole table under ACCESS EXCLUSIVE",
  fix = "add the column without a default (or with a constant one), set the "
    .. "default with alter_column, then fill old rows with op.backfill in "
    .. "a data phase",
  check = function(rec, ctx)
    if rec.op ~= "add_column" then return nil end
    local t, c = rec.args[1], lint.colspec(rec.args[2])
    if not c or ctx.is_new(t) then return nil end
    local ty = lint.norm_type(c.type)
    local why
    if ty:match("serial") then
      why = ("type %s fills every row from a sequence"):format(c.type)
    elseif c.autoincrement then
      why = "an identity column fills every row from a sequence"
    else
      local fn = volatile(c.server_default)
      if fn then
        why = ("server_default %s calls %s(), which may be volatile")
          :format(c.server_default, fn)
      end
    end
    if not why then return nil end
    return { table = t, scans = true,
             message = ("column %q added to existing table %q: %s, so the "
               .. "table is rewritten under ACCESS EXCLUSIVE"):format(c.name, t, why) }
  end,
}
