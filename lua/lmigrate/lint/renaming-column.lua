-- renaming-column: code deployed before the revision still uses the old
-- name; between the rename and the new code's rollout every query that
-- names the column fails.
return {
  name = "renaming-column",
  severity = "warning",
  why = "running code still uses the old name",
  fix = "add the new column, write both, backfill, switch reads, then drop "
    .. "the old one (expand/contract); or rename in a maintenance window",
  check = function(rec, ctx)
    if rec.op ~= "alter_column" then return nil end
    local t, col, o = rec.args[1], rec.args[2], rec.args[3]
    if type(o) ~= "table" or not o.new_name or ctx.is_new(t) then return nil end
    return { message = ("column %q.%q is renamed to %q: code still running "
      .. "with the old name fails"):format(t, col, o.new_name) }
  end,
}
