-- ban-drop-table: code deployed before the revision may still use the
-- table; the data is gone for good.
return {
  name = "ban-drop-table",
  severity = "warning",
  why = "running code may still use the table, and its data is lost",
  fix = "stop using the table in the code first (deploy), then drop it in a "
    .. "later revision",
  check = function(rec, ctx)
    if rec.op ~= "drop_table" or ctx.is_new(rec.args[1]) then return nil end
    return { message = ("table %q is dropped: code that still uses it fails, "
      .. "and its data is lost"):format(rec.args[1]) }
  end,
}
