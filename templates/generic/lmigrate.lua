-- lmigrate configuration: a Lua chunk that returns a table.
-- It runs before every command, so it may read the environment.
-- `-x KEY=VALUE` options arrive here as a table of strings, e.g.
-- `lmigrate -x env=test upgrade head` gives x.env == "test".
local x = ... or {}

return {
  -- Database URL. Precedence: --url, then LMIGRATE_URL, then DATABASE_URL,
  -- then this value. Forms: sqlite:PATH, sqlite::memory:,
  -- postgresql://user:pass@host:port/db?param=value
  url = os.getenv("DATABASE_URL") or "sqlite:app.db",

  -- Directory holding the revision scripts (<rev>_<slug>.lua).
  script_location = "versions",

  -- Several directories instead (new revisions go to the first one unless
  -- `lmigrate revision --version-path DIR` picks another):
  -- version_locations = { "versions", "ai/versions" },

  -- Table recording the applied heads (one row per head).
  version_table = "lmigrate_version",

  -- PostgreSQL schema holding the version table (nil: the default schema).
  version_table_schema = nil,

  -- true: each revision runs in its own transaction with its version-table
  -- update. false: the whole run is one transaction.
  transaction_per_migration = true,

  -- Optional callbacks around the run and each revision; ctx holds hook,
  -- direction, url (password masked), elapsed_ms, and for revision hooks
  -- revision, message, path (see docs/cli.md, "Hooks"):
  -- hooks = {
  --   before_revision = function(ctx) end,
  --   after_revision  = function(ctx) end,
  --   on_error        = function(ctx) print(ctx.error) end,
  -- },
}
