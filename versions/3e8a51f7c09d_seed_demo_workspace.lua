-- seed demo workspace
--
-- Demo data so the later data migrations have rows to work on. Skip it with
--   lmigrate -x seed=no upgrade head
-- Every value is a bound parameter ($1, $2, ...), never spliced into SQL.
-- Ids come from the database (RETURNING), so the identity/autoincrement
-- sequences stay right on PostgreSQL as well as on SQLite.
local users = {
  { "ada@example.com",   "Ada Lovelace" },
  { "grace@example.com", "Grace Hopper" },
  { "linus@example.org", "Linus" },
}

-- INSERT ... RETURNING id, for the id the database chose.
local function insert_id(op, sql, params)
  return op.query(sql .. " RETURNING id", params)[1].id
end

return {
  revision      = "3e8a51f7c09d",
  down_revision = "b27e94c0d6a8",
  branch_labels = nil,
  depends_on    = nil,
  message       = "seed demo workspace",
  create_date   = "2026-11-03 15:20:10",

  upgrade = function(op)
    if op.x.seed == "no" then return end
    local ids = {}
    for i, u in ipairs(users) do
      ids[i] = insert_id(op, "INSERT INTO users (email, display_name) VALUES ($1, $2)", u)
    end
    local ws = insert_id(op, "INSERT INTO workspaces (name, slug, owner_id) VALUES ($1, $2, $3)",
                         { "Analytical Engines", "engines", ids[1] })
    for i, role in ipairs({ "owner", "admin", "member" }) do
      op.execute("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)",
                 { ws, ids[i], role })
    end
    local general = insert_id(op, "INSERT INTO channels (workspace_id, name, topic) VALUES ($1, $2, $3)",
                              { ws, "general", "Company-wide announcements" })
    local random = insert_id(op, "INSERT INTO channels (workspace_id, name, topic) VALUES ($1, $2, $3)",
                             { ws, "random", op.null })
    local posts = {
      { general, op.null, "Welcome to #general!" },  -- author NULL: a system message
      { general, ids[1], "The engine weaves algebraic patterns." },
      { general, ids[2], "Found a moth in relay 70." },
      { random, ids[3], "Talk is cheap. Show me the code." },
    }
    for _, p in ipairs(posts) do
      op.execute("INSERT INTO messages (channel_id, author_id, body) VALUES ($1, $2, $3)", p)
    end
  end,

  downgrade = function(op)
    local ws = "(SELECT id FROM workspaces WHERE slug = $1)"
    op.execute("DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = " .. ws .. ")", { "engines" })
    op.execute("DELETE FROM channels WHERE workspace_id = " .. ws, { "engines" })
    op.execute("DELETE FROM memberships WHERE workspace_id = " .. ws, { "engines" })
    op.execute("DELETE FROM workspaces WHERE slug = $1", { "engines" })
    for _, u in ipairs(users) do
      op.execute("DELETE FROM users WHERE email = $1", { u[1] })
    end
  end,
}
