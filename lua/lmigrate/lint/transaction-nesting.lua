-- transaction-nesting: lmigrate runs each transactional revision in its
-- own transaction and records it with the version row; a BEGIN, COMMIT
-- or ROLLBACK inside breaks that: half the revision may commit without
-- being recorded.
local lint = require("lmigrate.lint")

local TX = { BEGIN = true, COMMIT = true, ROLLBACK = true, END = true,
             ["START TRANSACTION"] = true, ["BEGIN TRANSACTION"] = true,
             ["COMMIT TRANSACTION"] = true, ["BEGIN WORK"] = true,
             ["COMMIT WORK"] = true }

return {
  name = "transaction-nesting",
  severity = "error",
  why = "lmigrate owns the revision's transaction",
  fix = "remove the transaction statement; use transactional = false for a "
    .. "revision that must commit step by step",
  check = function(rec, ctx)
    if rec.op ~= "execute" or not ctx.transactional then return nil end
    for _, s in ipairs(lint.statements(rec.args[1])) do
      if TX[s] then
        return { message = ("%s inside a transactional revision: lmigrate "
          .. "runs the revision in its own transaction"):format(s) }
      end
    end
  end,
}
