-- add message reactions
--
-- Starts the `reactions` branch: developed in parallel with
-- 7f4b8e2d1c56 (channel message counts), both on top of 5a9d2c7e8f30, and
-- joined again by the merge revision 9b2d4f6a8e13. Upgrade just this branch
-- with `lmigrate upgrade reactions@head`.
return {
  revision      = "c61f0e3b9a24",
  down_revision = "5a9d2c7e8f30",
  branch_labels = { "reactions" },
  depends_on    = nil,
  message       = "add message reactions",
  create_date   = "2026-11-12 16:31:09",

  upgrade = function(op)
    op.create_table("reactions",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "message_id", "integer", nullable = false,
        references = "messages.id", on_delete = "CASCADE" },
      { "user_id", "integer", nullable = false,
        references = "users.id", on_delete = "CASCADE" },
      { "emoji", "string(32)", nullable = false },
      { "created_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" })
    op.create_index("ux_reactions_message_user_emoji", "reactions",
                    { "message_id", "user_id", "emoji" }, { unique = true })
  end,

  downgrade = function(op)
    op.drop_index("ux_reactions_message_user_emoji")
    op.drop_table("reactions")
  end,
}
