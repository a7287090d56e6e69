-- ban-char-field: char(n) pads with blanks and is never faster than text
-- or varchar.
local lint = require("lmigrate.lint")

local function check_col(c, t)
  local ty = c and lint.norm_type(c.type) or ""
  if ty:match("^char%(%d+%)$") or ty:match("^character%(%d+%)$") or
     ty == "char" or ty == "character" then
    return { message = ("column %q.%q is %s, which pads with blanks")
      :format(t, c.name, c.type) }
  end
end

return {
  name = "ban-char-field",
  severity = "warning",
  style = true,      -- a design choice, not a lock: `lint` only, not `upgrade`
  dialects = { postgresql = true },
  why = "char(n) pads values with blanks",
  fix = "use text (or string(n)) instead",
  check = function(rec)
    return lint.first_new_column(rec, check_col)
  end,
}
