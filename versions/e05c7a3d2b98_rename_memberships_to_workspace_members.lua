-- rename memberships to workspace_members, add deactivated_at
return {
  revision      = "e05c7a3d2b98",
  down_revision = "9b2d4f6a8e13",
  branch_labels = nil,
  depends_on    = nil,
  message       = "rename memberships to workspace_members, add deactivated_at",
  create_date   = "2026-11-20 13:47:21",

  upgrade = function(op)
    op.rename_table("memberships", "workspace_members")
    -- soft removal: a deactivated member keeps their history
    op.add_column("workspace_members", { "deactivated_at", "timestamp" })
    op.create_index("ix_workspace_members_active", "workspace_members",
                    { "workspace_id" }, { where = "deactivated_at IS NULL" })
  end,

  downgrade = function(op)
    op.drop_index("ix_workspace_members_active")
    op.drop_column("workspace_members", "deactivated_at")
    op.rename_table("workspace_members", "memberships")
  end,
}
