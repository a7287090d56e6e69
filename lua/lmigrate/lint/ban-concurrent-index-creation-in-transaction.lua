-- ban-concurrent-index-creation-in-transaction: CREATE/DROP INDEX
-- CONCURRENTLY cannot run inside a transaction block: the revision fails
-- when it runs. (op.create_index refuses it itself; this catches
-- op.execute.)
local lint = require("lmigrate.lint")

return {
  name = "ban-concurrent-index-creation-in-transaction",
  severity = "error",
  dialects = { postgresql = true },
  why = "CONCURRENTLY cannot run inside a transaction",
  fix = "set transactional = false in this revision (and keep it to the "
    .. "concurrent statements)",
  check = function(rec, ctx)
    if rec.op ~= "execute" or not ctx.transactional then return nil end
    for _, s in ipairs(lint.statements(rec.args[1])) do
      if s:match("^CREATE [%w ]*INDEX CONCURRENTLY") or
         s:match("^DROP INDEX CONCURRENTLY") or
         s:match("^REINDEX [%w ]*CONCURRENTLY") then
        return { message = "CONCURRENTLY inside a transactional revision: "
          .. "PostgreSQL refuses it (cannot run inside a transaction block)" }
      end
    end
  end,
}
