-- constraint-missing-not-valid: ADD CONSTRAINT ... CHECK checks every row
-- under ACCESS EXCLUSIVE. Added NOT VALID it only checks new rows; VALIDATE
-- CONSTRAINT then scans under SHARE UPDATE EXCLUSIVE, which lets reads and
-- writes go on -- but only in a later transaction: validated in the same
-- transactional revision, the ACCESS EXCLUSIVE lock is still held.
return {
  name = "constraint-missing-not-valid",
  severity = "error",
  dialects = { postgresql = true },
  why = "a CHECK is verified on every row while the table is locked",
  fix = "create_check_constraint(..., { not_valid = true }), then "
    .. "op.validate_constraint(table, name) in a later revision",
  check = function(rec, ctx)
    local a = rec.args
    if rec.op == "create_check_constraint" then
      local o = type(a[4]) == "table" and a[4] or {}
      if o.not_valid or ctx.is_new(a[2]) then return nil end
      return { table = a[2], scans = true,
               message = ("CHECK %q on existing table %q is verified on every "
                 .. "row under ACCESS EXCLUSIVE"):format(a[1], a[2]) }
    elseif rec.op == "validate_constraint" then
      local m = ctx.table(a[1])
      local ck = m and m.checks[a[2]]
      -- added NOT VALID in this same revision, which holds its lock
      if ck and ctx.transactional and ck.rev == ctx.revno and not ck.validated then
        return { table = a[1], scans = true,
                 message = ("constraint %q is validated in the transaction "
                   .. "that added it: the ACCESS EXCLUSIVE lock of ADD "
                   .. "CONSTRAINT is held during the scan"):format(a[2]),
                 fix = "move op.validate_constraint to a later revision" }
      end
    end
  end,
}
