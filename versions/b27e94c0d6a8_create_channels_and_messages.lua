-- create channels and messages
return {
  revision      = "b27e94c0d6a8",
  down_revision = "8d03b6e5f412",
  branch_labels = nil,
  depends_on    = nil,
  message       = "create channels and messages",
  create_date   = "2026-11-03 14:02:37",

  upgrade = function(op)
    op.create_table("channels",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "workspace_id", "integer", nullable = false,
        references = "workspaces.id", on_delete = "CASCADE" },
      { "name", "string(80)", nullable = false },
      { "topic", "text" },
      { "is_private", "boolean", nullable = false, default = false },
      { "archived_at", "timestamp" },
      { "created_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" })
    op.create_index("ux_channels_workspace_name", "channels",
                    { "workspace_id", "name" }, { unique = true })

    op.create_table("messages",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "channel_id", "integer", nullable = false,
        references = "channels.id", on_delete = "CASCADE" },
      -- kept when the author's account is deleted; NULL = system message
      { "author_id", "integer",
        references = "users.id", on_delete = "SET NULL" },
      { "body", "text", nullable = false },
      { "created_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" },
      { "edited_at", "timestamp" })
    op.create_index("ix_messages_channel_created", "messages",
                    { "channel_id", "created_at" })
  end,

  downgrade = function(op)
    op.drop_index("ix_messages_channel_created")
    op.drop_table("messages")
    op.drop_index("ux_channels_workspace_name")
    op.drop_table("channels")
  end,
}
