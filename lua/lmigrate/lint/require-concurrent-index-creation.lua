-- require-concurrent-index-creation: CREATE INDEX without CONCURRENTLY on
-- an existing table holds a SHARE lock for the whole build: every INSERT,
-- UPDATE and DELETE on the table waits until the index is built.
local lint = require("lmigrate.lint")

return {
  name = "require-concurrent-index-creation",
  severity = "error",
  dialects = { postgresql = true },
  why = "CREATE INDEX blocks writes to the table for the whole build",
  fix = "create the index with { concurrently = true } in a revision with "
    .. "transactional = false",
  check = function(rec, ctx)
    local a = rec.args
    if rec.op == "create_index" then
      local o = type(a[4]) == "table" and a[4] or {}
      if o.concurrently or ctx.is_new(a[2]) then return nil end
      return { table = a[2], scans = true,
               message = ("index %q on existing table %q is built without "
                 .. "CONCURRENTLY: writes to %q wait until it is built")
                 :format(a[1], a[2], a[2]) }
    elseif rec.op == "execute" then
      for _, s in ipairs(lint.statements(a[1])) do
        local t = s:match("^CREATE UNIQUE INDEX [^C].- ON ([%w_%.\"]+)")
          or s:match("^CREATE INDEX [^C].- ON ([%w_%.\"]+)")
        if t and not s:match("^CREATE [%w ]*INDEX CONCURRENTLY") then
          t = t == "ONLY" and s:match(" ON ONLY ([%w_%.\"]+)") or t
          local name = lint.sql_name(t)
          if not ctx.is_new(name) then
            return { table = name, scans = true,
                     message = ("CREATE INDEX on existing table %q without "
                       .. "CONCURRENTLY blocks writes while it builds"):format(name) }
          end
        end
      end
    end
  end,
}
