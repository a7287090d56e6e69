-- disallowed-unique-constraint: ADD CONSTRAINT ... UNIQUE builds its
-- index under ACCESS EXCLUSIVE. Build the unique index concurrently
-- first, then attach it: ADD CONSTRAINT ... UNIQUE USING INDEX is instant.
local lint = require("lmigrate.lint")

return {
  name = "disallowed-unique-constraint",
  severity = "error",
  dialects = { postgresql = true },
  why = "a unique constraint's index is built while the table is locked",
  fix = "op.create_index(ix, table, cols, { unique = true, concurrently = "
    .. "true }) in a transactional = false revision, then op.execute('ALTER "
    .. "TABLE t ADD CONSTRAINT c UNIQUE USING INDEX ix')",
  check = function(rec, ctx)
    local a = rec.args
    if rec.op == "create_unique_constraint" then
      if ctx.is_new(a[2]) then return nil end
      return { table = a[2], scans = true,
               message = ("unique constraint %q on existing table %q builds "
                 .. "its index under ACCESS EXCLUSIVE"):format(a[1], a[2]) }
    elseif rec.op == "add_column" then
      local c = lint.colspec(a[2])
      if not c or not c.unique or ctx.is_new(a[1]) then return nil end
      return { table = a[1], scans = true,
               message = ("unique column %q added to existing table %q: its "
                 .. "index is built under ACCESS EXCLUSIVE"):format(c.name, a[1]) }
    elseif rec.op == "execute" then
      for _, s in ipairs(lint.statements(a[1])) do
        local t = s:match("^ALTER TABLE ([%w_%.\"]+) ADD CONSTRAINT [%w_\"]+ UNIQUE")
        if t and not s:match("USING INDEX") and not ctx.is_new(lint.sql_name(t)) then
          return { table = lint.sql_name(t), scans = true,
                   message = ("ADD CONSTRAINT ... UNIQUE on existing table %q "
                     .. "builds its index under ACCESS EXCLUSIVE"):format(lint.sql_name(t)) }
        end
      end
    end
  end,
}
