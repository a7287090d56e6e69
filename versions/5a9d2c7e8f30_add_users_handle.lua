-- add users.handle, backfilled from email
--
-- SQLite cannot add a NOT NULL or UNIQUE column to an existing table, so the
-- column is added nullable, filled in, and made unique with an index. The
-- partial index (WHERE handle IS NOT NULL) lets users created later by an
-- older app version, without a handle, coexist.
return {
  revision      = "5a9d2c7e8f30",
  down_revision = "3e8a51f7c09d",
  branch_labels = nil,
  depends_on    = nil,
  message       = "add users.handle, backfilled from email",
  create_date   = "2026-11-09 11:05:44",

  upgrade = function(op)
    op.add_column("users", { "handle", "string(40)", nullable = true })

    -- Backfill: the local part of the email, made unique with a suffix.
    local taken = {}
    local users = op.query("SELECT id, email FROM users ORDER BY id")
    for _, u in ipairs(users) do
      local base = u.email:match("^([^@]+)"):lower():gsub("[^%w_]", "_")
      local handle, n = base, 1
      while taken[handle] do
        n = n + 1
        handle = base .. n
      end
      taken[handle] = true
      op.execute("UPDATE users SET handle = $1 WHERE id = $2", { handle, u.id })
    end

    op.create_index("ux_users_handle", "users", { "handle" },
                    { unique = true, where = "handle IS NOT NULL" })
  end,

  downgrade = function(op)
    op.drop_index("ux_users_handle")
    op.drop_column("users", "handle")
  end,
}
