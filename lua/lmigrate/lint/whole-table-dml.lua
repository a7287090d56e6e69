-- whole-table-dml: an UPDATE or DELETE without WHERE in a schema
-- (upgrade) function rewrites every row in the revision's transaction:
-- every row stays locked, and every schema lock taken before it is held,
-- until the last row is written.
local lint = require("lmigrate.lint")

return {
  name = "whole-table-dml",
  severity = "error",
  why = "a whole-table UPDATE/DELETE holds its row locks and the "
    .. "revision's schema locks until it ends",
  fix = "move it to the revision's data function as op.backfill{ table = ..., "
    .. "set = ... } (batched, resumable, one short transaction per batch)",
  check = function(rec, ctx)
    if rec.op ~= "execute" or rec.phase ~= "upgrade" then return nil end
    for _, s in ipairs(lint.statements(rec.args[1])) do
      local verb, t = s:match("^(UPDATE) ([%w_%.\"]+)")
      if not verb then verb, t = s:match("^(DELETE) FROM ([%w_%.\"]+)") end
      if t == "ONLY" then t = s:match("ONLY ([%w_%.\"]+)") end
      if verb and not s:match(" WHERE ") and not ctx.is_new(lint.sql_name(t)) then
        return { table = lint.sql_name(t), scans = true,
                 message = ("%s of every row of existing table %q in the "
                   .. "schema phase"):format(verb, lint.sql_name(t)) }
      end
    end
  end,
}
