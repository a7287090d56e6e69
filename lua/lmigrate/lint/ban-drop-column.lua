-- ban-drop-column: code deployed before the revision may still select or
-- insert the column; the data is gone for good.
return {
  name = "ban-drop-column",
  severity = "warning",
  why = "running code may still use the column, and its data is lost",
  fix = "stop using the column in the code first (deploy), then drop it in "
    .. "a later revision",
  check = function(rec, ctx)
    if rec.op ~= "drop_column" or ctx.is_new(rec.args[1]) then return nil end
    return { message = ("column %q.%q is dropped: code that still uses it "
      .. "fails, and its data is lost"):format(rec.args[1], rec.args[2]) }
  end,
}
