-- changing-column-type: ALTER COLUMN ... TYPE rewrites the table (and its
-- indexes) under ACCESS EXCLUSIVE, except where PostgreSQL knows the
-- stored bytes stay valid: VARCHAR(n) growing to VARCHAR(m >= n) or TEXT.
-- A shrink scans (and rewrites) the whole table.
local lint = require("lmigrate.lint")

local function widening(old, new)
  local n, m = lint.varchar_len(old), lint.varchar_len(new)
  local nt = lint.norm_type(new)
  if n and (nt == "text" or (m and m >= n)) then return true end
  if lint.norm_type(old) == "text" and nt == "text" then return true end
  return false
end

return {
  name = "changing-column-type",
  severity = "error",
  dialects = { postgresql = true },
  why = "a type change rewrites the table under ACCESS EXCLUSIVE",
  fix = "add a new column of the new type, fill it with op.backfill, switch "
    .. "the code to it, then drop the old one",
  check = function(rec, ctx)
    if rec.op ~= "alter_column" then return nil end
    local t, col, o = rec.args[1], rec.args[2], rec.args[3]
    if type(o) ~= "table" or not o.type or ctx.is_new(t) then return nil end
    local c = ctx.column(t, col)
    local old = c and c.type
    if old and widening(old, o.type) then return nil end
    if old and lint.norm_type(old) == lint.norm_type(o.type) then return nil end
    if old and lint.varchar_len(old) and lint.varchar_len(o.type) then
      return { table = t, scans = true,
               message = ("column %q.%q shrinks from %s to %s: the whole table "
                 .. "is checked and rewritten under ACCESS EXCLUSIVE")
                 :format(t, col, old, o.type) }
    end
    if not old and (lint.varchar_len(o.type) or lint.norm_type(o.type) == "text") then
      return { severity = "warning",
               message = ("column %q.%q changes to %s: free when it widens a "
                 .. "VARCHAR, a rewrite under ACCESS EXCLUSIVE otherwise (the "
                 .. "old type is not known from the revisions)")
                 :format(t, col, o.type) }
    end
    return { table = t, scans = true,
             message = ("column %q.%q changes type%s to %s: the table is "
               .. "rewritten under ACCESS EXCLUSIVE"):format(t, col,
               old and (" from " .. old) or "", o.type) }
  end,
}
