-- seed demo workspace
--
-- Demo data so the later data migrations have rows to work on. Skip it with
--   lmigrate -x seed=no upgrade head
-- Every value is a bound parameter ($1, $2, ...), never spliced into SQL.
local users = {
  { 1, "ada@example.com",   "Ada Lovelace" },
  { 2, "grace@example.com", "Grace Hopper" },
  { 3, "linus@example.org", "Linus" },
}

return {
  revision      = "3e8a51f7c09d",
  down_revision = "b27e94c0d6a8",
  branch_labels = nil,
  depends_on    = nil,
  message       = "seed demo workspace",
  create_date   = "2026-11-03 15:20:10",

  upgrade = function(op)
    if op.x.seed == "no" then return end
    for _, u in ipairs(users) do
      op.execute("INSERT INTO users (id, email, display_name) VALUES ($1, $2, $3)",
                 u)
    end
    op.execute("INSERT INTO workspaces (id, name, slug, owner_id) VALUES ($1, $2, $3, $4)",
               { 1, "Analytical Engines", "engines", 1 })
    for _, m in ipairs({ { 1, "owner" }, { 2, "admin" }, { 3, "member" } }) do
      op.execute("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)",
                 { 1, m[1], m[2] })
    end
    op.execute("INSERT INTO channels (id, workspace_id, name, topic) VALUES ($1, $2, $3, $4)",
               { 1, 1, "general", "Company-wide announcements" })
    op.execute("INSERT INTO channels (id, workspace_id, name, topic) VALUES ($1, $2, $3, $4)",
               { 2, 1, "random", op.null })
    -- author_id NULL: a system message
    op.execute("INSERT INTO messages (channel_id, author_id, body) VALUES ($1, $2, $3)",
               { 1, op.null, "Welcome to #general!" })
    op.execute("INSERT INTO messages (channel_id, author_id, body) VALUES ($1, $2, $3)",
               { 1, 1, "The engine weaves algebraic patterns." })
    op.execute("INSERT INTO messages (channel_id, author_id, body) VALUES ($1, $2, $3)",
               { 1, 2, "Found a moth in relay 70." })
    op.execute("INSERT INTO messages (channel_id, author_id, body) VALUES ($1, $2, $3)",
               { 2, 3, "Talk is cheap. Show me the code." })
  end,

  downgrade = function(op)
    op.execute("DELETE FROM messages WHERE channel_id IN (1, 2)")
    op.execute("DELETE FROM channels WHERE workspace_id = $1", { 1 })
    op.execute("DELETE FROM memberships WHERE workspace_id = $1", { 1 })
    op.execute("DELETE FROM workspaces WHERE id = $1", { 1 })
    for _, u in ipairs(users) do
      op.execute("DELETE FROM users WHERE id = $1", { u[1] })
    end
  end,
}
