-- spec/helpers/autogen_unit.lua: helpers for the unit specs of the Lua half of
-- autogenerate (lua/lmigrate/schema, model, diff, render, dump).
--
--   A.declared(dialect, text)      the model of a schema file given as text
--   A.empty(dialect)               a model with no tables
--   A.compare(declared, reflected [, opts])
--   A.kinds(changes)               { "add_table", ... } (notes included)
--   A.find(changes, kind)          the first change of that kind
--   A.fn(body)                     a revision body (render output) as function(op)
--   A.sql(dialect, body [, transactional])  the SQL op renders for body (offline)
--   A.apply(db, body [, transactional])     run body's ops on a real SQLite file
--   A.cases, A.base             one case per change kind (see below)
--   A.reflect_pg(url), A.reset_pg(url), A.apply_pg(url, body [, transactional])
--   A.reflect_sqlite(db)           a model of a SQLite file, built from PRAGMAs
--                                  and sqlite_master (a small stand-in for the
--                                  C reflection, so the Lua half can be checked
--                                  end to end: declared -> revision -> database)
local core = require("lmigrate.core")
local schema = require("lmigrate.schema")
local diff = require("lmigrate.diff")
local h = require("helpers")

local A = {}

function A.declared(dialect, text)
  return schema.load_string(text, dialect, nil, "schema.lua")
end

function A.empty(dialect)
  return { dialect = dialect, default_schema = dialect == "postgresql" and "public" or nil,
           schemas = {}, tables = {} }
end

function A.compare(d, r, opts) return diff.compare(d, r, opts) end

function A.kinds(changes)
  local out = {}
  for i, ch in ipairs(changes) do out[i] = ch.kind end
  return out
end

function A.find(changes, kind)
  for _, ch in ipairs(changes) do if ch.kind == kind then return ch end end
end

function A.fn(body)
  return assert(load("return function(op)\n" .. body .. "end", "=revision", "t"))()
end

function A.sql(dialect, body, transactional)
  return core.render(dialect, A.fn(body), transactional)
end

function A.apply(db, body, transactional)
  local c = core.connect("sqlite:" .. db)
  local ok, err = pcall(c.run, c, A.fn(body), transactional ~= false)
  c:close()
  if not ok then error(err, 2) end
end

-- ---------- one case per change kind (render_spec, render_pg_spec) ----------

function A.S(body) return "local s = ...\n" .. body end
local S = A.S

A.base = [[
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(255)", nullable = false },
  { "name", "text" })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer" },
  { "qty", "integer", server_default = "1" })
]]

-- s:gsub(a, b) without the count
function A.sub(s, a, b) return (s:gsub(a, b)) end
local sub, base = A.sub, A.base

-- Each case: name, dialects, before (schema text), after, the kinds the
-- diff finds, a line the upgrade must contain, and per dialect the SQL
-- the upgrade and the downgrade render to (offline, plain forms).
A.cases = {
  { "add_table", nil, base, base .. 's.create_table("notes", { "id", "integer", primary_key = true }, { "body", "text", nullable = false })\n',
    { "add_table" }, 'op.create_table("notes",',
    { postgresql = { 'CREATE TABLE "notes" (\n  "id" INTEGER NOT NULL PRIMARY KEY,\n  "body" TEXT NOT NULL\n);', 'DROP TABLE "notes";' } } },
  { "drop_table", nil, base .. 's.create_table("notes", { "id", "integer", primary_key = true }, { "body", "string(40)", server_default = "\'x\'" })\ns.create_index("ix_n", "notes", "body")\n', base,
    { "drop_table" }, 'op.drop_table("notes")',
    { postgresql = { 'DROP TABLE "notes";', 'CREATE TABLE "notes" (\n  "id" INTEGER NOT NULL PRIMARY KEY,\n  "body" VARCHAR(40) DEFAULT \'x\'\n);\nCREATE INDEX "ix_n" ON "notes" ("body");' } } },
  { "add_column", nil, base, sub(base, '{ "name", "text" }', '{ "name", "text" }, { "phone", "string(20)", server_default = "\'-\'" }'),
    { "add_column" }, 'op.add_column("customers", { "phone", "string(20)", server_default = "\'-\'" })',
    { postgresql = { 'ALTER TABLE "customers" ADD COLUMN "phone" VARCHAR(20) DEFAULT \'-\';', 'ALTER TABLE "customers" DROP COLUMN "phone";' } } },
  { "drop_column", nil, base, sub(base, ',\n  { "name", "text" }', ''),
    { "drop_column" }, 'op.drop_column("customers", "name")',
    { postgresql = { 'ALTER TABLE "customers" DROP COLUMN "name";', 'ALTER TABLE "customers" ADD COLUMN "name" TEXT;' } } },
  { "alter_column type", nil, base, sub(base, '"string%(255%)"', '"string(300)"'),
    { "alter_column" }, 'op.alter_column("customers", "email", { type = "string(300)" })',
    { postgresql = { 'ALTER TABLE "customers" ALTER COLUMN "email" TYPE VARCHAR(300);', 'ALTER TABLE "customers" ALTER COLUMN "email" TYPE VARCHAR(255);' } } },
  { "alter_column nullable", nil, base, sub(base, '{ "name", "text" }', '{ "name", "text", nullable = false }'),
    { "alter_column" }, 'op.alter_column("customers", "name", { nullable = false })',
    { postgresql = { 'ALTER TABLE "customers" ALTER COLUMN "name" SET NOT NULL;', 'ALTER TABLE "customers" ALTER COLUMN "name" DROP NOT NULL;' } } },
  { "alter_column server_default", nil, base, sub(base, 'server_default = "1"', 'server_default = "2"'),
    { "alter_column" }, 'op.alter_column("orders", "qty", { server_default = "2" })',
    { postgresql = { 'ALTER TABLE "orders" ALTER COLUMN "qty" SET DEFAULT 2;', 'ALTER TABLE "orders" ALTER COLUMN "qty" SET DEFAULT 1;' } } },
  { "alter_column drop default", nil, base, sub(base, ', server_default = "1"', ''),
    { "alter_column" }, 'op.alter_column("orders", "qty", { server_default = false })',
    { postgresql = { 'ALTER TABLE "orders" ALTER COLUMN "qty" DROP DEFAULT;', 'ALTER TABLE "orders" ALTER COLUMN "qty" SET DEFAULT 1;' } } },
  { "rename_column", nil, base, sub(base, '{ "name", "text" }', '{ "full_name", "text" }'),
    { "rename_column" }, 'op.alter_column("customers", "name", { new_name = "full_name" })',
    { postgresql = { 'ALTER TABLE "customers" RENAME COLUMN "name" TO "full_name";', 'ALTER TABLE "customers" RENAME COLUMN "full_name" TO "name";' } } },
  { "rename_column with its index and key", nil,
    base .. 's.create_index("ix_name", "customers", "name")\ns.create_unique_constraint("uq_name", "customers", { "name", "email" })\n',
    sub(base, '{ "name", "text" }', '{ "full_name", "text" }') ..
      's.create_index("ix_name", "customers", "full_name")\ns.create_unique_constraint("uq_name", "customers", { "full_name", "email" })\n',
    { "rename_column" }, 'op.alter_column("customers", "name", { new_name = "full_name" })',
    { postgresql = { 'ALTER TABLE "customers" RENAME COLUMN "name" TO "full_name";', 'ALTER TABLE "customers" RENAME COLUMN "full_name" TO "name";' } } },
  { "rename_table referenced by a foreign key", nil,
    base .. 's.create_foreign_key("fk_oc", "orders", "customers", "customer_id", "id")\n',
    sub(base, '"customers"', '"clients"') .. 's.create_foreign_key("fk_oc", "orders", "clients", "customer_id", "id")\n',
    { "rename_table" }, 'op.rename_table("customers", "clients")',
    { postgresql = { 'ALTER TABLE "customers" RENAME TO "clients";', 'ALTER TABLE "clients" RENAME TO "customers";' } } },
  { "rename_table", nil, base, sub(base, '"orders"', '"purchases"'),
    { "rename_table" }, 'op.rename_table("orders", "purchases")',
    { postgresql = { 'ALTER TABLE "orders" RENAME TO "purchases";', 'ALTER TABLE "purchases" RENAME TO "orders";' } } },
  { "add_index", nil, base, base .. 's.create_index("ix_c", "orders", { "customer_id", "qty" })\n',
    { "add_index" }, 'op.create_index("ix_c", "orders", { "customer_id", "qty" })',
    { postgresql = { 'CREATE INDEX "ix_c" ON "orders" ("customer_id", "qty");', 'DROP INDEX "ix_c";' } } },
  { "drop_index", nil, base .. 's.create_index("ix_c", "orders", "customer_id", { unique = true })\n', base,
    { "drop_index" }, 'op.drop_index("ix_c", { table = "orders" })',
    { postgresql = { 'DROP INDEX "ix_c";', 'CREATE UNIQUE INDEX "ix_c" ON "orders" ("customer_id");' } } },
  { "partial index", nil, base, base .. 's.create_index("ix_p", "orders", "customer_id", { unique = true, where = "qty > 0" })\n',
    { "add_index" }, 'op.create_index("ix_p", "orders", { "customer_id" }, { unique = true, where = "qty > 0" })',
    { postgresql = { 'CREATE UNIQUE INDEX "ix_p" ON "orders" ("customer_id") WHERE qty > 0;', 'DROP INDEX "ix_p";' } } },
  { "add_unique", nil, base, base .. 's.create_unique_constraint("uq_c", "orders", { "customer_id", "qty" })\n',
    { "add_unique" }, 'op.create_unique_constraint("uq_c", "orders", { "customer_id", "qty" })',
    { postgresql = { 'ALTER TABLE "orders" ADD CONSTRAINT "uq_c" UNIQUE ("customer_id", "qty");', 'ALTER TABLE "orders" DROP CONSTRAINT "uq_c";' } } },
  { "drop_unique", nil, base .. 's.create_unique_constraint("uq_c", "orders", { "customer_id", "qty" })\n', base,
    { "drop_unique" }, 'op.drop_constraint("uq_c", "orders", { type_ = "unique" })',
    { postgresql = { 'ALTER TABLE "orders" DROP CONSTRAINT "uq_c";', 'ALTER TABLE "orders" ADD CONSTRAINT "uq_c" UNIQUE ("customer_id", "qty");' } } },
  { "add_fk", nil, base, base .. 's.create_foreign_key("fk_oc", "orders", "customers", "customer_id", "id", { on_delete = "CASCADE" })\n',
    { "add_fk" }, 'op.create_foreign_key("fk_oc", "orders", "customers", { "customer_id" }, { "id" }, { on_delete = "CASCADE" })',
    { postgresql = { 'ALTER TABLE "orders" ADD CONSTRAINT "fk_oc" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON DELETE CASCADE;',
                     'ALTER TABLE "orders" DROP CONSTRAINT "fk_oc";' } } },
  { "drop_fk", nil, base .. 's.create_foreign_key("fk_oc", "orders", "customers", "customer_id", "id", { on_update = "SET NULL" })\n', base,
    { "drop_fk" }, 'op.drop_constraint("fk_oc", "orders", { type_ = "foreignkey" })',
    { postgresql = { 'ALTER TABLE "orders" DROP CONSTRAINT "fk_oc";',
                     'ALTER TABLE "orders" ADD CONSTRAINT "fk_oc" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE SET NULL;' } } },
  { "add_check", nil, base, base .. 's.create_check_constraint("ck_qty", "orders", "qty > 0")\n',
    { "add_check" }, 'op.create_check_constraint("ck_qty", "orders", "qty > 0")',
    { postgresql = { 'ALTER TABLE "orders" ADD CONSTRAINT "ck_qty" CHECK (qty > 0);', 'ALTER TABLE "orders" DROP CONSTRAINT "ck_qty";' } } },
  { "drop_check", nil, base .. 's.create_check_constraint("ck_qty", "orders", "qty > 0")\n', base,
    { "drop_check" }, 'op.drop_constraint("ck_qty", "orders", { type_ = "check" })',
    { postgresql = { 'ALTER TABLE "orders" DROP CONSTRAINT "ck_qty";', 'ALTER TABLE "orders" ADD CONSTRAINT "ck_qty" CHECK (qty > 0);' } } },
  { "add_pk", nil, sub(base, '{ "id", "bigint", primary_key = true }', '{ "id", "bigint", nullable = false }'),
    sub(base, '{ "id", "bigint", primary_key = true }', '{ "id", "bigint", nullable = false }') .. 's.create_primary_key("pk_orders", "orders", "id")\n',
    { "add_pk" }, 'op.create_primary_key("pk_orders", "orders", { "id" })',
    { postgresql = { 'ALTER TABLE "orders" ADD CONSTRAINT "pk_orders" PRIMARY KEY ("id");', 'ALTER TABLE "orders" DROP CONSTRAINT "pk_orders";' } } },
  { "drop_pk", nil, sub(base, '{ "id", "bigint", primary_key = true }', '{ "id", "bigint", nullable = false }') .. 's.create_primary_key("pk_orders", "orders", "id")\n',
    sub(base, '{ "id", "bigint", primary_key = true }', '{ "id", "bigint", nullable = false }'),
    { "drop_pk" }, 'op.drop_constraint("pk_orders", "orders", { type_ = "primary" })',
    { postgresql = { 'ALTER TABLE "orders" DROP CONSTRAINT "pk_orders";', 'ALTER TABLE "orders" ADD CONSTRAINT "pk_orders" PRIMARY KEY ("id");' } } },
  { "table_comment", { "postgresql" }, base, base .. 's.create_table_comment("orders", "it\'s orders")\n',
    { "table_comment" }, 'op.create_table_comment("orders", "it\'s orders")',
    { postgresql = { 'COMMENT ON TABLE "orders" IS \'it\'\'s orders\';', 'COMMENT ON TABLE "orders" IS NULL;' } } },
  { "column comment", { "postgresql" }, base .. 's.alter_column("orders", "qty", { comment = "old" })\n',
    base .. 's.alter_column("orders", "qty", { comment = "new" })\n',
    { "alter_column" }, 'op.alter_column("orders", "qty", { comment = "new" })',
    { postgresql = { 'COMMENT ON COLUMN "orders"."qty" IS \'new\';', 'COMMENT ON COLUMN "orders"."qty" IS \'old\';' } } },
  { "add_schema", { "postgresql" }, base, base .. 's.create_schema("billing")\ns.create_table("billing.inv", { "id", "integer" })\n',
    { "add_schema", "add_table" }, 'op.create_schema("billing")',
    { postgresql = { 'CREATE SCHEMA "billing";\nCREATE TABLE "billing"."inv" (\n  "id" INTEGER\n);',
                     'DROP TABLE "billing"."inv";\nDROP SCHEMA "billing";' } } },
  { "drop_schema", { "postgresql" }, base .. 's.create_schema("billing")\n', base,
    { "drop_schema" }, 'op.drop_schema("billing")',
    { postgresql = { 'DROP SCHEMA "billing";', 'CREATE SCHEMA "billing";' } } },
}

-- Expression indexes need op.create_index's { expr = } entries (issue 11's
-- C half); their stairway case runs where op has them.
if pcall(core.render, "postgresql", function(op) op.create_index("x", "t", { { expr = "lower(a)" } }) end) then
  A.cases[#A.cases + 1] = { "expression index", nil, A.base,
    A.base .. 's.create_index("ix_e", "customers", { { expr = "lower(email)" }, "id" }, { unique = true })\n',
    { "add_index" }, 'op.create_index("ix_e", "customers", { { expr = "lower(email)" }, "id" }, { unique = true })',
    { postgresql = { 'CREATE UNIQUE INDEX "ix_e" ON "customers" ((lower(email)), "id");', 'DROP INDEX "ix_e";' } } }
end

-- ---------- a small SQLite reflection for specs ----------

local function q(s) return h.literal(s) end

local function nilnull(v) if v == h.NULL then return nil end return v end

-- The text between the parentheses opening at s:sub(i, i).
local function balanced(s, i)
  local depth = 0
  for j = i, #s do
    local c = s:sub(j, j)
    if c == "(" then depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
      if depth == 0 then return s:sub(i + 1, j - 1), j end
    elseif c == "'" then
      local k = s:find("'", j + 1, true)
      j = k
    end
  end
end

local function unquote(n) return (n:gsub('^"(.*)"$', "%1"):gsub('""', '"')) end

-- Named constraints and CHECKs in a CREATE TABLE text.
local function parse_constraints(sql)
  local out = { checks = {}, names = {} }
  local body = balanced(sql, sql:find("(", 1, true))
  -- CONSTRAINT "name" KIND
  for name, kind in body:gmatch('CONSTRAINT%s+("?[^"%s]+"?)%s+(%u+)') do
    out.names[#out.names + 1] = { name = unquote(name), kind = kind }
  end
  local pos = 1
  while true do
    local s, e = body:find("CHECK%s*%(", pos)
    if not s then break end
    local text = balanced(body, e)
    local before = body:sub(1, s - 1)
    local name = before:match('CONSTRAINT%s+("?[^"%s]+"?)%s*$')
    out.checks[#out.checks + 1] = { name = name and unquote(name), sql = text }
    pos = e + 1
  end
  return out
end

-- Everything reflect_sqlite needs, in one sqlite3 run: rows tagged
-- T (table), C (column), I (index), X (index column), F (foreign key).
local REFLECT_SQL = [[
WITH t AS (SELECT name, sql FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'lmigrate_%')
SELECT 'T', t.name, t.sql, 0, NULL, NULL, NULL, NULL, NULL FROM t
UNION ALL
SELECT 'C', t.name, c.name, c.cid, c.type, c."notnull", c.dflt_value, c.pk, NULL
  FROM t, pragma_table_info(t.name) c
UNION ALL
SELECT 'I', t.name, il.name, il.seq, il."unique", il.origin, il.partial,
       (SELECT sql FROM sqlite_master WHERE type = 'index' AND name = il.name), NULL
  FROM t, pragma_index_list(t.name) il
UNION ALL
SELECT 'X', il.name, x.name, x.seqno, x.cid, NULL, NULL, NULL, NULL
  FROM t, pragma_index_list(t.name) il, pragma_index_xinfo(il.name) x WHERE x.key = 1
UNION ALL
SELECT 'F', t.name, f."table", f.id * 1000 + f.seq, f."from", f."to", f.on_update, f.on_delete, f.id
  FROM t, pragma_foreign_key_list(t.name) f
ORDER BY 1, 2, 4;
]]

function A.reflect_sqlite(db)
  local m = A.empty("sqlite")
  local rows = { T = {}, C = {}, I = {}, X = {}, F = {} }
  for _, r in ipairs(h.sqlite(db, REFLECT_SQL)) do table.insert(rows[r[1]], r) end
  local xcols = {}
  for _, r in ipairs(rows.X) do
    xcols[r[2]] = xcols[r[2]] or {}
    table.insert(xcols[r[2]], r[5] == "-2" and { expr = "?" } or r[3])
  end
  for _, row in ipairs(rows.T) do
    local name, sql = row[2], row[3]
    local t = { name = name, columns = {}, uniques = {}, indexes = {}, foreign_keys = {}, checks = {} }
    local pk = {}
    for _, c in ipairs(rows.C) do
      if c[2] == name then
        t.columns[#t.columns + 1] = { name = c[3], type = c[5], nullable = c[6] == "0",
          server_default = nilnull(c[7]), autoincrement = false }
        if c[8] ~= "0" then pk[#pk + 1] = { tonumber(c[8]), c[3] } end
      end
    end
    table.sort(pk, function(a, b) return a[1] < b[1] end)
    if #pk > 0 then
      t.primary_key = { columns = {} }
      for i, p in ipairs(pk) do t.primary_key.columns[i] = p[2] end
      if #pk == 1 and sql:upper():find("AUTOINCREMENT", 1, true) then
        for _, c in ipairs(t.columns) do if c.name == pk[1][2] then c.autoincrement = true end end
      end
    end
    local cons = parse_constraints(sql)
    t.checks = cons.checks
    local named = { UNIQUE = {}, FOREIGN = {}, PRIMARY = {} }
    for _, n in ipairs(cons.names) do if named[n.kind] then table.insert(named[n.kind], n.name) end end
    if t.primary_key then t.primary_key.name = named.PRIMARY[1] end
    for _, ix in ipairs(rows.I) do
      if ix[2] == name then
        local cols = xcols[ix[3]] or {}
        if ix[6] == "u" then
          t.uniques[#t.uniques + 1] = { columns = cols }
        elseif ix[6] == "c" then
          local isql = ix[8]
          local where = isql:match("%)%s+WHERE%s+(.*)$")
          local body = balanced(isql, isql:find("(", isql:find(" ON ", 1, true), true))
          local i = 0
          for part in (body .. ","):gmatch("(.-),%s*") do
            i = i + 1
            if type(cols[i]) == "table" then cols[i] = { expr = part } end
          end
          table.insert(t.indexes, 1, { name = ix[3], columns = cols, unique = ix[5] == "1", where = where })
        end
      end
    end
    -- a single named UNIQUE / FOREIGN KEY constraint gets its name (enough
    -- for these specs)
    if #named.UNIQUE == 1 and #t.uniques == 1 then t.uniques[1].name = named.UNIQUE[1] end
    local fks, order = {}, {}
    for _, f in ipairs(rows.F) do
      if f[2] == name then
        local id = f[9]
        if not fks[id] then
          fks[id] = { columns = {}, ref_table = f[3], ref_columns = {},
            on_update = f[7] ~= "NO ACTION" and f[7] or nil, on_delete = f[8] ~= "NO ACTION" and f[8] or nil }
          order[#order + 1] = id
        end
        table.insert(fks[id].columns, f[5])
        table.insert(fks[id].ref_columns, f[6])
      end
    end
    for i = #order, 1, -1 do t.foreign_keys[#t.foreign_keys + 1] = fks[order[i]] end
    if #named.FOREIGN == 1 and #t.foreign_keys == 1 then t.foreign_keys[1].name = named.FOREIGN[1] end
    m.tables[name] = t
  end
  return m
end


-- ---------- a small PostgreSQL reflection for specs ----------

-- Rows tagged S (schema), T (table), C (column), K (constraint), I (index)
-- from the catalogs, in raw PostgreSQL spellings (format_type, pg_get_expr,
-- pg_get_constraintdef), as the contract says reflection returns them.
local PG_REFLECT_SQL = [[
WITH t AS (
  SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND c.relname NOT LIKE 'lmigrate_%'),
cols AS (SELECT a.attrelid, a.attnum, a.attname FROM pg_attribute a JOIN t ON t.oid = a.attrelid
         WHERE a.attnum > 0 AND NOT a.attisdropped)
SELECT 'S', nspname, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM pg_namespace
  WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' AND nspname <> current_schema()
UNION ALL
SELECT 'T', t.nspname, t.relname, obj_description(t.oid, 'pg_class'), current_schema(), NULL, NULL, NULL, NULL, NULL FROM t
UNION ALL
SELECT 'C', t.nspname, t.relname, a.attname, lpad(a.attnum::text, 5, '0'), format_type(a.atttypid, a.atttypmod),
       a.attnotnull::text, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, col_description(a.attrelid, a.attnum)
  FROM t JOIN pg_attribute a ON a.attrelid = t.oid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'K', t.nspname, t.relname, k.conname, k.contype::text,
       (SELECT string_agg(c.attname, ',' ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
          JOIN cols c ON c.attrelid = k.conrelid AND c.attnum = u.n),
       (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE rc.oid = k.confrelid),
       (SELECT string_agg(c.attname, ',' ORDER BY u.i) FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
          JOIN pg_attribute c ON c.attrelid = k.confrelid AND c.attnum = u.n),
       k.confdeltype::text || k.confupdtype::text, pg_get_constraintdef(k.oid)
  FROM t JOIN pg_constraint k ON k.conrelid = t.oid WHERE k.contype IN ('p', 'u', 'f', 'c')
UNION ALL
SELECT 'I', t.nspname, t.relname, ic.relname, i.indisunique::text,
       (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), E'\x02' ORDER BY k)
          FROM generate_series(1, i.indnkeyatts) k),
       pg_get_expr(i.indpred, i.indrelid), NULL, NULL, NULL
  FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))
ORDER BY 1, 2, 3, 5, 4
]]

local PG_ACTIONS = { c = "CASCADE", n = "SET NULL", d = "SET DEFAULT", r = "RESTRICT" }

-- A model of the PostgreSQL database at url (see PG_REFLECT_SQL).
function A.reflect_pg(url)
  local m = A.empty("postgresql")
  local rows = { S = {}, T = {}, C = {}, K = {}, I = {} }
  for _, r in ipairs(h.psql(url, PG_REFLECT_SQL)) do table.insert(rows[r[1]], r) end
  for _, r in ipairs(rows.S) do m.schemas[#m.schemas + 1] = r[2] end
  table.sort(m.schemas)
  local function key(sch, name)
    if sch == m.default_schema then return name end
    return sch .. "." .. name
  end
  local function split(list)
    local out = {}
    for x in (list .. ","):gmatch("([^,]*),") do out[#out + 1] = x end
    return out
  end
  for _, r in ipairs(rows.T) do
    m.default_schema = r[5]
    local k = key(r[2], r[3])
    m.tables[k] = { name = r[3], schema = r[2] ~= r[5] and r[2] or nil, comment = nilnull(r[4]),
      columns = {}, uniques = {}, indexes = {}, foreign_keys = {}, checks = {} }
  end
  for _, r in ipairs(rows.C) do
    local t = m.tables[key(r[2], r[3])]
    t.columns[#t.columns + 1] = { name = r[4], type = r[6], nullable = r[7] == "false",
      server_default = nilnull(r[8]), autoincrement = r[9] ~= "" and r[9] ~= h.NULL, comment = nilnull(r[10]) }
  end
  for _, r in ipairs(rows.K) do
    local t = m.tables[key(r[2], r[3])]
    local kind, cols = r[5], split(r[6])
    if kind == "p" then
      t.primary_key = { name = r[4], columns = cols }
    elseif kind == "u" then
      t.uniques[#t.uniques + 1] = { name = r[4], columns = cols }
    elseif kind == "f" then
      local rs, rt = r[7]:match("^(.-)%.(.*)$")
      t.foreign_keys[#t.foreign_keys + 1] = { name = r[4], columns = cols, ref_table = rt,
        ref_schema = rs ~= m.default_schema and rs or nil, ref_columns = split(r[8]),
        on_delete = PG_ACTIONS[r[9]:sub(1, 1)], on_update = PG_ACTIONS[r[9]:sub(2, 2)] }
    elseif kind == "c" then
      t.checks[#t.checks + 1] = { name = r[4], sql = r[10]:match("^CHECK %((.*)%)[%s%u]*$") or r[10] }
    end
  end
  for _, r in ipairs(rows.I) do
    local t = m.tables[key(r[2], r[3])]
    local cols = {}
    for part in (r[6] .. "\2"):gmatch("([^\2]*)\2") do
      if part:match('^[%l_][%l%d_]*$') then cols[#cols + 1] = part
      elseif part:match('^"(.*)"$') then cols[#cols + 1] = part:sub(2, -2):gsub('""', '"')
      else cols[#cols + 1] = { expr = part } end
    end
    t.indexes[#t.indexes + 1] = { name = r[4], columns = cols, unique = r[5] == "true", where = nilnull(r[7]) }
  end
  return m
end

-- Empty the PostgreSQL database at url: every user schema dropped, public
-- re-created.
function A.reset_pg(url)
  local drops = {}
  for _, r in ipairs(h.psql(url, "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' " ..
      "AND nspname NOT IN ('information_schema')")) do
    drops[#drops + 1] = ('DROP SCHEMA "%s" CASCADE;'):format(r[1])
  end
  h.psql(url, table.concat(drops, "\n") .. "\nCREATE SCHEMA public;")
end

-- Run body's ops on the PostgreSQL database at url.
function A.apply_pg(url, body, transactional)
  local c = core.connect(url)
  local ok, err = pcall(c.run, c, A.fn(body), transactional ~= false)
  c:close()
  if not ok then error(err, 2) end
end

return A
