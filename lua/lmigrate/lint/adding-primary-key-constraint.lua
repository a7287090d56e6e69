-- adding-primary-key-constraint: adding a primary key to an existing
-- table builds its unique index under ACCESS EXCLUSIVE (and a new
-- primary-key column rewrites the table).
local lint = require("lmigrate.lint")

return {
  name = "adding-primary-key-constraint",
  severity = "error",
  dialects = { postgresql = true },
  why = "the primary key's index is built while the table is locked",
  fix = "create a unique index concurrently (transactional = false), then "
    .. "op.execute('ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING "
    .. "INDEX ix') in a later revision",
  check = function(rec, ctx)
    local a = rec.args
    if rec.op == "create_primary_key" then
      if ctx.is_new(a[2]) then return nil end
      return { table = a[2], scans = true,
               message = ("primary key %q added to existing table %q: its "
                 .. "index is built under ACCESS EXCLUSIVE"):format(a[1], a[2]) }
    elseif rec.op == "add_column" then
      local c = lint.colspec(a[2])
      if not c or not c.primary_key or ctx.is_new(a[1]) then return nil end
      return { table = a[1], scans = true,
               message = ("primary-key column %q added to existing table "
                 .. "%q: the table is rewritten and indexed under ACCESS "
                 .. "EXCLUSIVE"):format(c.name, a[1]) }
    end
  end,
}
