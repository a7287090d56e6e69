-- ban-drop-not-null: dropping NOT NULL lets NULLs in that code still
-- running may not expect, and makes going back (SET NOT NULL) a full scan.
return {
  name = "ban-drop-not-null",
  severity = "warning",
  why = "code still running may not expect NULLs",
  fix = "make sure every reader handles NULL before this runs",
  check = function(rec, ctx)
    if rec.op ~= "alter_column" then return nil end
    local t, col, o = rec.args[1], rec.args[2], rec.args[3]
    if type(o) ~= "table" or o.nullable ~= true or ctx.is_new(t) then
      return nil
    end
    return { message = ("column %q.%q becomes nullable: readers that assume "
      .. "a value may break, and SET NOT NULL later scans the table")
      :format(t, col) }
  end,
}
