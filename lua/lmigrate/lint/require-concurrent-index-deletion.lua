-- require-concurrent-index-deletion: DROP INDEX takes ACCESS EXCLUSIVE on
-- the index's table; queued behind a long query, it blocks every reader
-- of the table too. DROP INDEX CONCURRENTLY waits without blocking.
return {
  name = "require-concurrent-index-deletion",
  severity = "warning",
  dialects = { postgresql = true },
  why = "DROP INDEX takes ACCESS EXCLUSIVE on the table",
  fix = "drop it with { concurrently = true } in a revision with "
    .. "transactional = false",
  check = function(rec, ctx)
    if rec.op ~= "drop_index" then return nil end
    local a = rec.args
    local o = type(a[2]) == "table" and a[2] or {}
    if o.concurrently then return nil end
    local ix = ctx.indexes[a[1]]
    local t = o.table or (ix and ix.table)
    if t and ctx.is_new(t) then return nil end
    return { message = ("index %q is dropped without CONCURRENTLY: the drop "
      .. "takes ACCESS EXCLUSIVE on %s"):format(a[1],
        t and ("table %q"):format(t) or "its table") }
  end,
}
