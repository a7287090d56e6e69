-- merge reactions and message counts
--
-- Joins the two branches that grew from 5a9d2c7e8f30 back into one head
-- (written by `lmigrate merge -m "merge reactions and message counts" heads`).
-- A merge usually changes nothing itself.
return {
  revision      = "9b2d4f6a8e13",
  down_revision = { "c61f0e3b9a24", "7f4b8e2d1c56" },
  branch_labels = nil,
  depends_on    = nil,
  message       = "merge reactions and message counts",
  create_date   = "2026-11-16 09:00:00",

  upgrade = function(op)
  end,

  downgrade = function(op)
  end,
}
