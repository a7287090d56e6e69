-- add channels.message_count
--
-- A denormalised counter for the channel list. The NOT NULL column needs a
-- default to be added to an existing table (SQLite requires it, and it
-- avoids a table rewrite on PostgreSQL 11+). The backfill streams the
-- per-channel counts with op.rows instead of loading them all.
return {
  revision      = "7f4b8e2d1c56",
  down_revision = "5a9d2c7e8f30",
  branch_labels = nil,
  depends_on    = nil,
  message       = "add channels.message_count",
  create_date   = "2026-11-13 10:12:58",

  upgrade = function(op)
    op.add_column("channels",
      { "message_count", "integer", nullable = false, default = 0 })

    for row in op.rows([[
        SELECT channel_id, COUNT(*) AS n
          FROM messages
         GROUP BY channel_id]]) do
      op.execute("UPDATE channels SET message_count = $1 WHERE id = $2",
                 { row.n, row.channel_id })
    end
  end,

  downgrade = function(op)
    op.drop_column("channels", "message_count")
  end,
}
