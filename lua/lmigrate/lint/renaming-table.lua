-- renaming-table: code deployed before the revision still uses the old
-- name; every query on it fails until the new code runs everywhere.
return {
  name = "renaming-table",
  severity = "warning",
  why = "running code still uses the old name",
  fix = "rename, then create a view with the old name for the old code "
    .. "(op.execute('CREATE VIEW old AS SELECT * FROM new')) and drop it "
    .. "once no code uses it",
  check = function(rec, ctx)
    if rec.op ~= "rename_table" or ctx.is_new(rec.args[1]) then return nil end
    return { message = ("table %q is renamed to %q: code still running with "
      .. "the old name fails"):format(rec.args[1], rec.args[2]) }
  end,
}
