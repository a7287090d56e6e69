-- create users
return {
  revision      = "4c1f0a9e2b71",
  down_revision = nil,
  branch_labels = nil,
  depends_on    = nil,
  message       = "create users",
  create_date   = "2026-11-02 09:14:05",

  upgrade = function(op)
    op.create_table("users",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "email", "string(255)", nullable = false },
      { "display_name", "string(100)", nullable = false },
      { "created_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" })
    op.create_index("ix_users_email", "users", { "email" }, { unique = true })
  end,

  downgrade = function(op)
    op.drop_index("ix_users_email")
    op.drop_table("users")
  end,
}
