-- create workspaces and memberships
return {
  revision      = "8d03b6e5f412",
  down_revision = "4c1f0a9e2b71",
  branch_labels = nil,
  depends_on    = nil,
  message       = "create workspaces and memberships",
  create_date   = "2026-11-02 09:40:51",

  upgrade = function(op)
    op.create_table("workspaces",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "name", "string(100)", nullable = false },
      { "slug", "string(60)", nullable = false, unique = true },
      { "owner_id", "integer", nullable = false,
        references = "users.id", on_delete = "RESTRICT" },
      { "created_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" })

    op.create_table("memberships",
      { "id", "integer", primary_key = true, autoincrement = true },
      { "workspace_id", "integer", nullable = false,
        references = "workspaces.id", on_delete = "CASCADE" },
      { "user_id", "integer", nullable = false,
        references = "users.id", on_delete = "CASCADE" },
      { "role", "string(20)", nullable = false, default = "member" },
      { "joined_at", "timestamp", nullable = false,
        server_default = "CURRENT_TIMESTAMP" })
    -- one membership per user and workspace; also serves lookups by workspace
    op.create_index("ux_memberships_workspace_user", "memberships",
                    { "workspace_id", "user_id" }, { unique = true })
    op.create_index("ix_memberships_user", "memberships", { "user_id" })
  end,

  downgrade = function(op)
    op.drop_index("ix_memberships_user")
    op.drop_index("ux_memberships_workspace_user")
    op.drop_table("memberships")
    op.drop_table("workspaces")
  end,
}
