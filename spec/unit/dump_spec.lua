-- dump_spec.lua: lmigrate.dump, a model written as a schema file:
-- load_schema(dump(m)) compares equal to m, for a rich reflected model on
-- PostgreSQL (the spellings reflection returns) and a SQLite database made
-- with plain SQL, and the text is the builder form people would write.
local A = require("helpers.autogen_unit")
local autogen = require("lmigrate.autogen")
local diff = require("lmigrate.diff")
local h = require("helpers")

-- The changes between m and the model of its own dump.
local function roundtrip(m)
  local text = autogen.dump(m)
  local loaded = A.declared(m.dialect, text)
  return A.compare(loaded, m), text, loaded
end

-- A PostgreSQL model as reflection returns it (format_type, pg_get_expr,
-- generated constraint names), exercising everything in the model.
local function pg_reflected()
  local function T(t)
    t.uniques, t.indexes, t.foreign_keys, t.checks = t.uniques or {}, t.indexes or {}, t.foreign_keys or {}, t.checks or {}
    return t
  end
  return {
    dialect = "postgresql", default_schema = "public", schemas = { "billing" },
    tables = {
      customers = T{ name = "customers", comment = "people who buy",
        columns = {
          { name = "id", type = "integer", nullable = false, autoincrement = true },
          { name = "email", type = "character varying(255)", nullable = false, comment = "login, it's unique" },
          { name = "name", type = "text", nullable = true, server_default = "'anon'::text" },
          { name = "created_at", type = "timestamp with time zone", nullable = false, server_default = "now()" },
          { name = "score", type = "numeric(10,2)", nullable = true, server_default = "'-1.5'::numeric" },
          { name = "active", type = "boolean", nullable = false, server_default = "true" },
          { name = "tags", type = "text[]", nullable = true },
          { name = "data", type = "jsonb", nullable = true, server_default = "'{}'::jsonb" },
        },
        primary_key = { name = "customers_pkey", columns = { "id" } },
        uniques = { { name = "customers_email_key", columns = { "email" } } },
        indexes = {
          { name = "ix_customers_lower", columns = { { expr = "lower((email)::text)" } }, unique = true },
          { name = "ix_customers_active", columns = { "created_at" }, unique = false, where = "active" },
        },
        checks = { { name = "customers_score_check", sql = "(score > ('-100'::integer)::numeric)" } } },
      orders = T{ name = "orders",
        columns = {
          { name = "id", type = "bigint", nullable = false, server_default = "nextval('orders_id_seq'::regclass)" },
          { name = "line", type = "smallint", nullable = false },
          { name = "customer_id", type = "integer", nullable = true },
          { name = "invoice_id", type = "integer", nullable = true },
          { name = "at", type = "timestamp(3) without time zone", nullable = true },
          { name = "code", type = "character(4)", nullable = true },
        },
        primary_key = { name = "orders_pkey", columns = { "line", "id" } },
        uniques = { { name = "uq_orders_code_at", columns = { "code", "at" } } },
        foreign_keys = {
          { name = "orders_customer_id_fkey", columns = { "customer_id" }, ref_table = "customers",
            ref_columns = { "id" }, on_delete = "CASCADE" },
          { name = "fk_orders_invoice", columns = { "invoice_id" }, ref_table = "invoices",
            ref_schema = "billing", ref_columns = { "id" }, on_update = "SET NULL" },
        } },
      ["billing.invoices"] = T{ name = "invoices", schema = "billing",
        columns = { { name = "id", type = "integer", nullable = false },
                    { name = "total", type = "double precision", nullable = true },
                    { name = "paid", type = "bytea", nullable = true } },
        primary_key = { name = "invoices_pkey", columns = { "id" } } },
    },
  }
end

describe("dump #unit", function()
  it("round-trips a rich reflected PostgreSQL model", function()
    local chs, text = roundtrip(pg_reflected())
    assert.same({}, diff.describe(chs))
    -- portable spellings where they map back exactly, the rest verbatim
    assert.truthy(text:find('  { "email", "string(255)", nullable = false, unique = true },', 1, true), text)
    assert.truthy(text:find('  { "created_at", "timestamptz", nullable = false, server_default = "now()" },', 1, true), text)
    assert.truthy(text:find('  { "id", "integer", primary_key = true, autoincrement = true },', 1, true), text)
    assert.truthy(text:find('  { "tags", "text[]" },', 1, true), text)
    assert.truthy(text:find('  { "customer_id", "integer", references = "customers.id", on_delete = "CASCADE" },', 1, true), text)
    assert.truthy(text:find('s.create_schema("billing")', 1, true))
    assert.truthy(text:find('s.create_primary_key("orders_pkey", "orders", { "line", "id" })', 1, true), text)
    assert.truthy(text:find('s.create_foreign_key("fk_orders_invoice", "orders", "billing.invoices", { "invoice_id" }, { "id" }, { on_update = "SET NULL" })', 1, true), text)
    assert.truthy(text:find('s.create_index("ix_customers_lower", "customers", { { expr = "lower((email)::text)" } }, { unique = true })', 1, true), text)
    assert.truthy(text:find('s.create_table_comment("customers", "people who buy")', 1, true))
    assert.truthy(text:find([[s.alter_column("customers", "email", { comment = "login, it's unique" })]], 1, true))
    assert.matches("^%-%- Schema dumped by lmigrate from a postgresql database%.\n", text)
  end)

  it("finds a difference when the dump is edited", function()
    local text = autogen.dump(pg_reflected()):gsub('"string%(255%)"', '"string(300)"')
    local chs = A.compare(A.declared("postgresql", text), pg_reflected())
    assert.same({ "alter_column" }, A.kinds(chs))
  end)

  it("round-trips a SQLite database created with plain SQL", function()
    local dir = h.tmpdir()
    local db = dir .. "/plain.db"
    h.sqlite_exec(db, [[
CREATE TABLE artists (ArtistId INTEGER PRIMARY KEY AUTOINCREMENT, Name NVARCHAR(120));
CREATE TABLE albums (
  AlbumId INTEGER NOT NULL,
  Title NVARCHAR(160) NOT NULL DEFAULT 'untitled',
  ArtistId INTEGER NOT NULL,
  Price NUMERIC(10,2) CHECK (Price >= 0),
  Added DATETIME DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT PK_Album PRIMARY KEY (AlbumId),
  FOREIGN KEY (ArtistId) REFERENCES artists (ArtistId) ON DELETE NO ACTION ON UPDATE CASCADE
);
CREATE INDEX IFK_AlbumArtistId ON albums (ArtistId);
CREATE UNIQUE INDEX ix_title ON albums (Title) WHERE Price > 0;
CREATE TABLE playlist_track (PlaylistId INTEGER NOT NULL, TrackId INTEGER NOT NULL,
  Position INTEGER, PRIMARY KEY (TrackId, PlaylistId), UNIQUE (PlaylistId, Position));
]])
    local m = A.reflect_sqlite(db)
    local chs, text = roundtrip(m)
    assert.same({}, diff.describe(chs))
    assert.truthy(text:find('  { "ArtistId", "integer", primary_key = true, autoincrement = true },', 1, true), text)
    assert.truthy(text:find('  { "Name", "NVARCHAR(120)" })', 1, true), text)
    assert.truthy(text:find('s.create_check_constraint("ck_albums_1", "albums", "Price >= 0")', 1, true), text)
    -- and the dump, turned into a revision, builds the same database
    local db2 = dir .. "/again.db"
    local rev = autogen.render(autogen.compare(A.declared("sqlite", text), A.empty("sqlite"))).revisions[1]
    A.apply(db2, rev.upgrade)
    assert.same({}, diff.describe(A.compare(m, A.reflect_sqlite(db2))))
    h.rmdir(dir)
  end)

  it("round-trips the declared model of a schema file too", function()
    for _, d in ipairs({ "sqlite", "postgresql" }) do
      local m = A.declared(d, [[
local s = ...
s.create_table("t", { "id", "bigint", primary_key = true, autoincrement = true },
  { "a", "string(20)", nullable = false, default = "x" }, { "b", "float", unique = true })
s.create_table("u", { "id", "integer", primary_key = true }, { "t_id", "bigint", references = "t.id" })
s.create_unique_constraint("uq_u", "u", { "id", "t_id" })
s.create_check_constraint("ck_u", "u", "t_id <> id")
s.create_index("ix_u", "u", { "t_id", "id" }, { where = "t_id > 2" })
]])
      assert.same({}, diff.describe(roundtrip(m)))
    end
  end)
end)
