-- lmigrate.schema: the builder `s` a declared schema file (schema.lua)
-- receives as `...`.
--
-- A schema file describes the DESIRED end state of the database with the
-- calls and arguments of `op` (docs/revisions.md, "The op module"):
--
--   local s = ...
--   s.create_table("customers",
--     { "id", "integer", primary_key = true, autoincrement = true },
--     { "email", "string(255)", nullable = false, unique = true })
--   s.create_index("ix_customers_email", "customers", { "email" })
--
-- Nothing runs against a database: each call is checked the way op checks
-- it (same option names, same "did you mean"), then recorded. Order does
-- not matter: an index may be declared before its table. When the file (and
-- its s.include()s) has run, `finish` resolves the references and returns a
-- model in the format of /work/issue11-contract.md (raw declared spellings;
-- lmigrate.model normalises it before the diff).
--
-- Every mistake is an error "file:line: msg" at the line of the schema file
-- that made it, also when it is found only at the end (a table that was
-- never declared: the line of the s.create_index that names it).

local core_ok, core = pcall(require, "lmigrate.core")
if not core_ok then core = nil end

local M = {}

-- The sentinel for SQL NULL in `default = s.null` (op.null in revisions).
local NULL = setmetatable({}, { __tostring = function() return "s.null" end,
                                __name = "lmigrate.schema.null" })
M.null = NULL

local THIS = debug.getinfo(1, "S").source

-- "file:line" of the schema file line that called into the builder: the
-- first stack frame outside this module.
local function caller_where()
  for level = 2, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= THIS and info.currentline and info.currentline > 0 then
      local src = info.source:gsub("^[@=]", "")
      return src .. ":" .. info.currentline
    end
  end
  return "schema"
end

-- Raise msg at `where` ("file:line"), or at the calling schema line.
local function fail(msg, where)
  error((where or caller_where()) .. ": " .. msg, 0)
end

-- ---------- checking arguments as op does ----------

-- Levenshtein distance, for "did you mean".
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

local function suggest(key, valid)
  local best, bestd
  for _, v in ipairs(valid) do
    local d = distance(key:lower(), v:lower())
    if d <= math.max(2, #v // 3) and (not bestd or d < bestd) then
      best, bestd = v, d
    end
  end
  return best
end

-- Check the keys of an options table: string keys must be in valid,
-- integer keys 1..npos are positional.
local function check_keys(t, fname, valid, npos)
  for k in pairs(t) do
    if type(k) == "string" then
      local ok = false
      for _, v in ipairs(valid) do if v == k then ok = true break end end
      if not ok then
        local best = suggest(k, valid)
        if best then
          fail(("unknown option '%s' for %s (did you mean '%s'?)"):format(k, fname, best))
        end
        fail(("unknown option '%s' for %s (valid options: %s)"):format(
          k, fname, table.concat(valid, ", ")))
      end
    elseif not (math.type(k) == "integer" and k >= 1 and k <= (npos or 0)) then
      fail(("unexpected %s key %s in the options for %s"):format(type(k), tostring(k), fname))
    end
  end
end

local function check_name(v, fname, what, argn)
  if type(v) ~= "string" then
    fail(("bad argument #%d to '%s' (%s expected, got %s)"):format(
      argn, fname, what, v == nil and "no value" or type(v)))
  end
  if v == "" then fail(("bad argument #%d to '%s' (%s must not be empty)"):format(argn, fname, what)) end
  if v:find("\0", 1, true) then
    fail(("bad argument #%d to '%s' (%s contains a NUL byte)"):format(argn, fname, what))
  end
  return v
end

local function opt_table(v, fname, valid, argn)
  if v == nil then return {} end
  if type(v) ~= "table" then
    fail(("bad argument #%d to '%s' (table expected, got %s)"):format(argn, fname, type(v)))
  end
  check_keys(v, fname, valid, 0)
  return v
end

local function opt_type(o, key, want, fname)
  local v = o[key]
  if v ~= nil and type(v) ~= want then
    fail(("%s: option '%s' must be a %s, got %s"):format(fname, key, want, type(v)))
  end
  return v
end

-- cols: a column name or a non-empty list of names (create_index also
-- takes { expr = "sql" } entries: an expression index).
local function check_cols(v, fname, what, argn, allow_expr)
  if type(v) == "string" then
    return { check_name(v, fname, "column name", argn) }
  end
  if type(v) ~= "table" then
    fail(("bad argument #%d to '%s' (column name or list expected, got %s)"):format(
      argn, fname, type(v)))
  end
  if #v < 1 then fail(("bad argument #%d to '%s' (%s needs at least one column)"):format(argn, fname, what)) end
  local out = {}
  for i = 1, #v do
    local c = v[i]
    if allow_expr and type(c) == "table" then
      check_keys(c, fname .. " expression", { "expr" }, 0)
      if type(c.expr) ~= "string" or c.expr == "" then
        fail(("bad argument #%d to '%s' (column %d: { expr = \"sql\" } needs the expression)"):format(argn, fname, i))
      end
      out[i] = { expr = c.expr }
    elseif type(c) ~= "string" or c == "" then
      fail(("bad argument #%d to '%s' (column %d must be a non-empty column name)"):format(argn, fname, i))
    else
      out[i] = c
    end
  end
  return out
end

local FK_ACTIONS = { CASCADE = true, ["SET NULL"] = true, ["SET DEFAULT"] = true,
                     RESTRICT = true, ["NO ACTION"] = true }

-- The canonical spelling of an ON DELETE/UPDATE action; NO ACTION (the
-- default) is nil, as reflection reports it.
local function fk_action(v, fname, key)
  if v == nil then return nil end
  if type(v) ~= "string" then fail(("%s: option '%s' must be a string, got %s"):format(fname, key, type(v))) end
  local a = v:upper():gsub("_", " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if not FK_ACTIONS[a] then
    fail(('%s: %s = "%s" is not one of CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION'):format(fname, key, v))
  end
  if a == "NO ACTION" then return nil end
  return a
end

-- A Lua `default = v` as SQL literal text for dialect.
local function literal(v, dialect)
  if v == NULL then return "NULL" end
  local t = type(v)
  if t == "string" then return "'" .. v:gsub("'", "''") .. "'" end
  if t == "boolean" then
    if dialect == "postgresql" then return v and "true" or "false" end
    return v and "1" or "0"
  end
  if math.type(v) == "integer" then return ("%d"):format(v) end
  if t == "number" then return ("%.17g"):format(v) end
  return nil
end
M.literal = literal

local INT_TYPES = { integer = true, bigint = true, smallint = true, int = true,
                    int4 = true, int8 = true, int2 = true }

local COLUMN_KEYS = { "nullable", "default", "server_default", "primary_key",
                      "autoincrement", "unique", "references", "on_delete", "on_update" }

-- ---------- the builder ----------

-- A new builder state for dialect ("sqlite" | "postgresql"); default_schema
-- is the PostgreSQL schema unqualified names live in.
function M.new(dialect, default_schema)
  assert(dialect == "sqlite" or dialect == "postgresql", "unknown dialect")
  return {
    dialect = dialect,
    default_schema = dialect == "postgresql" and (default_schema or "public") or nil,
    tables = {},        -- key -> { tbl = model table, where = "file:line" }
    order = {},         -- table keys in declaration order
    schemas = {},       -- name -> where
    later = {},         -- { fn, where } run by finish (need every table)
  }
end

-- Split "s.t" into schema and name and the model key.
local function split_name(st, name, fname)
  local sch, tname = name:match("^([^.]+)%.([^.]+)$")
  if not sch then
    if name:find(".", 1, true) then fail(("%s: \"%s\" is not a table name or schema.table"):format(fname, name)) end
    return nil, name, name
  end
  if st.dialect == "sqlite" then
    fail(("%s: \"%s\": SQLite has no schemas; declare the table without one"):format(fname, name))
  end
  if sch == st.default_schema then return nil, tname, tname end
  return sch, tname, sch .. "." .. tname
end

local function key_of(st, name)
  local _, _, key = split_name(st, name, "schema")
  return key
end

-- The declared table for name, or an error at where.
local function need_table(st, name, fname, where)
  local ok, key = pcall(key_of, st, name)
  if not ok then error(key, 0) end
  local t = st.tables[key]
  if not t then
    local names = {}
    for k in pairs(st.tables) do names[#names + 1] = k end
    local best = suggest(key, names)
    fail(("%s: table \"%s\" is not declared in the schema%s"):format(
      fname, name, best and (" (did you mean \"" .. best .. "\"?)") or ""), where)
  end
  return t.tbl
end

local function find_column(tbl, cname)
  for _, c in ipairs(tbl.columns) do if c.name == cname then return c end end
end

local function need_columns(tbl, cols, fname, where)
  for _, c in ipairs(cols) do
    if type(c) == "string" and not find_column(tbl, c) then
      local names = {}
      for _, col in ipairs(tbl.columns) do names[#names + 1] = col.name end
      local best = suggest(c, names)
      fail(("%s: table \"%s\" has no column \"%s\"%s"):format(fname, tbl.name, c,
        best and (" (did you mean \"" .. best .. "\"?)") or ""), where)
    end
  end
end

-- Parse references = "t.c" / "s.t.c" into ref schema, table, column.
local function parse_ref(st, ref, cname)
  local a, b, c = ref:match("^([^.]+)%.([^.]+)%.([^.]+)$")
  if a then
    if st.dialect == "sqlite" then fail(('column "%s": references = "%s": SQLite has no schemas'):format(cname, ref)) end
    if a == st.default_schema then a = nil end
    return a, b, c
  end
  b, c = ref:match("^([^.]+)%.([^.]+)$")
  if not b then
    fail(('column "%s": references = "%s" must be "table.column" or "schema.table.column"'):format(cname, ref))
  end
  return nil, b, c
end

-- Check one column spec (as op's lm_op_check_column) and add it to tbl.
local function add_column_spec(st, tbl, spec, fname, argn, pk_cols)
  if type(spec) ~= "table" then
    fail(("bad argument #%d to '%s' (column spec table expected, got %s)"):format(argn, fname, type(spec)))
  end
  local name, ctype = spec[1], spec[2]
  if type(name) ~= "string" or name == "" then
    fail(('bad argument #%d to \'%s\' (column spec needs the column name as its first value, e.g. { "email", "string(255)" })'):format(argn, fname))
  end
  if type(ctype) ~= "string" or ctype == "" then
    fail(('bad argument #%d to \'%s\' (column "%s" needs a type as its second value, e.g. { "%s", "text" })'):format(argn, fname, name, name))
  end
  check_keys(spec, fname, COLUMN_KEYS, 2)
  for _, k in ipairs({ "nullable", "primary_key", "autoincrement", "unique" }) do opt_type(spec, k, "boolean", fname) end
  for _, k in ipairs({ "server_default", "references" }) do opt_type(spec, k, "string", fname) end
  if core then
    local ok, err = pcall(core.map_type, st.dialect, ctype, name)
    if not ok then fail(fname .. ": " .. tostring(err)) end
  end
  if find_column(tbl, name) then fail(('%s "%s": column "%s" is declared twice'):format(fname, tbl.name, name)) end
  local pk = spec.primary_key == true
  local nullable = spec.nullable
  if nullable == nil then nullable = not pk end
  if pk and nullable then fail(('bad argument #%d to \'%s\' (column "%s": a primary key cannot be nullable)'):format(argn, fname, name)) end
  local server_default = spec.server_default
  if spec.default ~= nil then
    if server_default then fail(('%s "%s": column "%s": give default or server_default, not both'):format(fname, tbl.name, name)) end
    server_default = literal(spec.default, st.dialect)
    if not server_default then
      fail(("%s: option 'default' must be a string, number, boolean or s.null, got %s"):format(fname, type(spec.default)))
    end
  end
  if spec.autoincrement then
    if not pk then fail(('%s "%s": column "%s": autoincrement needs an integer primary key column'):format(fname, tbl.name, name)) end
    local base = ctype:lower():match("^%s*(%a+%d*)%s*$")
    if not (base and INT_TYPES[base]) then
      fail(('%s "%s": column "%s": autoincrement needs an integer type, not "%s"'):format(fname, tbl.name, name, ctype))
    end
    if server_default then fail(('%s "%s": column "%s": an autoincrement column cannot also have a default'):format(fname, tbl.name, name)) end
  end
  local col = { name = name, type = ctype, nullable = nullable, server_default = server_default,
                autoincrement = spec.autoincrement == true }
  tbl.columns[#tbl.columns + 1] = col
  if pk then pk_cols[#pk_cols + 1] = name end
  if spec.unique then tbl.uniques[#tbl.uniques + 1] = { columns = { name } } end
  if spec.on_delete ~= nil or spec.on_update ~= nil then
    if not spec.references then fail(('%s "%s": column "%s": on_delete/on_update need references'):format(fname, tbl.name, name)) end
  end
  if spec.references then
    local rs, rt, rc = parse_ref(st, spec.references, name)
    tbl.foreign_keys[#tbl.foreign_keys + 1] = {
      columns = { name }, ref_schema = rs, ref_table = rt, ref_columns = { rc },
      on_delete = fk_action(spec.on_delete, fname, "on_delete"),
      on_update = fk_action(spec.on_update, fname, "on_update"),
      where = caller_where(),
    }
  end
end

-- Record fn to run in finish(), reporting errors at the current line.
local function later(st, fn)
  st.later[#st.later + 1] = { fn = fn, where = caller_where() }
end

local function need_pg(st, fname)
  if st.dialect ~= "postgresql" then
    fail(fname .. ": SQLite stores no comments (guard with `if s.dialect == \"postgresql\"`)")
  end
end

-- The builder table `s` bound to state st. include_dir: the folder
-- s.include() paths are relative to.
local function builder(st, include_dir)
  local s = { dialect = st.dialect, null = NULL }

  function s.create_table(name, ...)
    local fname = "create_table"
    check_name(name, fname, "table name", 1)
    local args = table.pack(...)
    local n = args.n
    local last = args[n]
    if n >= 1 and type(last) == "table" and last[1] == nil and last[2] == nil then
      check_keys(last, fname, { "if_not_exists" }, 0)
      n = n - 1
    end
    if n < 1 then fail(('create_table "%s": a table needs at least one column spec'):format(name)) end
    local sch, tname, key = split_name(st, name, fname)
    if st.tables[key] then
      fail(('create_table "%s": table is already declared at %s'):format(name, st.tables[key].where))
    end
    local tbl = { name = tname, schema = sch, columns = {}, uniques = {}, indexes = {},
                  foreign_keys = {}, checks = {} }
    local pk_cols = {}
    for i = 1, n do add_column_spec(st, tbl, args[i], fname, i + 1, pk_cols) end
    if #pk_cols > 0 then tbl.primary_key = { columns = pk_cols } end
    for _, c in ipairs(tbl.columns) do
      if c.autoincrement and #pk_cols ~= 1 and st.dialect == "sqlite" then
        fail(('create_table "%s": column "%s": autoincrement needs a single integer primary key column'):format(name, c.name))
      end
    end
    st.tables[key] = { tbl = tbl, where = caller_where() }
    st.order[#st.order + 1] = key
  end

  function s.create_index(name, tname, cols, opts)
    local fname = "create_index"
    check_name(name, fname, "index name", 1)
    check_name(tname, fname, "table name", 2)
    key_of(st, tname)
    local c = check_cols(cols, fname, "an index", 3, true)
    local o = opt_table(opts, fname, { "unique", "where", "if_not_exists", "concurrently" }, 4)
    for _, k in ipairs({ "unique", "if_not_exists", "concurrently" }) do opt_type(o, k, "boolean", fname) end
    opt_type(o, "where", "string", fname)
    if name:find(".", 1, true) and st.dialect == "postgresql" then
      fail(('create_index "%s": an index lives in its table\'s schema; give the name without a schema'):format(name))
    end
    later(st, function(where)
      local tbl = need_table(st, tname, fname, where)
      need_columns(tbl, c, fname, where)
      for _, ix in ipairs(tbl.indexes) do
        if ix.name == name then fail(('create_index "%s": index is declared twice'):format(name), where) end
      end
      tbl.indexes[#tbl.indexes + 1] = { name = name, columns = c, unique = o.unique == true, where = o.where }
    end)
  end

  function s.create_foreign_key(name, source, referent, local_cols, remote_cols, opts)
    local fname = "create_foreign_key"
    check_name(name, fname, "constraint name", 1)
    check_name(source, fname, "source table name", 2)
    check_name(referent, fname, "referent table name", 3)
    key_of(st, source)
    local lc = check_cols(local_cols, fname, "a foreign key", 4)
    local rc = check_cols(remote_cols, fname, "a foreign key", 5)
    local o = opt_table(opts, fname, { "on_delete", "on_update", "copy_from" }, 6)
    if #lc ~= #rc then
      fail(('create_foreign_key "%s": %d local column%s but %d referenced column%s'):format(
        name, #lc, #lc == 1 and "" or "s", #rc, #rc == 1 and "" or "s"))
    end
    local od = fk_action(o.on_delete, fname, "on_delete")
    local ou = fk_action(o.on_update, fname, "on_update")
    local rsch, rname = split_name(st, referent, fname)
    later(st, function(where)
      local tbl = need_table(st, source, fname, where)
      need_columns(tbl, lc, fname, where)
      tbl.foreign_keys[#tbl.foreign_keys + 1] = { name = name, columns = lc, ref_schema = rsch,
        ref_table = rname, ref_columns = rc, on_delete = od, on_update = ou, where = where }
    end)
  end

  -- create_unique_constraint / create_primary_key
  local function add_key(fname, name, tname, cols, opts, set)
    check_name(name, fname, "constraint name", 1)
    check_name(tname, fname, "table name", 2)
    key_of(st, tname)
    local c = check_cols(cols, fname, "a constraint", 3)
    opt_table(opts, fname, { "copy_from" }, 4)
    later(st, function(where)
      local tbl = need_table(st, tname, fname, where)
      need_columns(tbl, c, fname, where)
      set(tbl, { name = name, columns = c }, where)
    end)
  end

  function s.create_unique_constraint(name, tname, cols, opts)
    add_key("create_unique_constraint", name, tname, cols, opts, function(tbl, u)
      tbl.uniques[#tbl.uniques + 1] = u
    end)
  end

  function s.create_primary_key(name, tname, cols, opts)
    add_key("create_primary_key", name, tname, cols, opts, function(tbl, pk, where)
      if tbl.primary_key then
        fail(('create_primary_key "%s": table "%s" already has a primary key'):format(name, tbl.name), where)
      end
      for _, cname in ipairs(pk.columns) do find_column(tbl, cname).nullable = false end
      tbl.primary_key = pk
    end)
  end

  function s.create_check_constraint(name, tname, sql, opts)
    local fname = "create_check_constraint"
    check_name(name, fname, "constraint name", 1)
    check_name(tname, fname, "table name", 2)
    check_name(sql, fname, "check condition", 3)
    key_of(st, tname)
    opt_table(opts, fname, { "copy_from" }, 4)
    later(st, function(where)
      local tbl = need_table(st, tname, fname, where)
      tbl.checks[#tbl.checks + 1] = { name = name, sql = sql }
    end)
  end

  function s.create_schema(name, opts)
    local fname = "create_schema"
    check_name(name, fname, "schema name", 1)
    opt_table(opts, fname, { "if_not_exists" }, 2)
    if st.dialect ~= "postgresql" then
      fail("create_schema: SQLite has no schemas (an ATTACHed database file is the nearest thing)")
    end
    if st.schemas[name] then fail(('create_schema "%s": schema is already declared at %s'):format(name, st.schemas[name])) end
    st.schemas[name] = caller_where()
  end

  function s.create_table_comment(tname, text)
    local fname = "create_table_comment"
    check_name(tname, fname, "table name", 1)
    if type(text) ~= "string" then fail(("bad argument #2 to 'create_table_comment' (string expected, got %s)"):format(type(text))) end
    need_pg(st, fname)
    later(st, function(where)
      need_table(st, tname, fname, where).comment = text
    end)
  end

  -- Only column comments: everything else about a column belongs in its
  -- column spec, since the schema file declares the end state.
  function s.alter_column(tname, cname, opts)
    local fname = "alter_column"
    check_name(tname, fname, "table name", 1)
    check_name(cname, fname, "column name", 2)
    if type(opts) ~= "table" then fail("bad argument #3 to 'alter_column' (table expected, got " .. type(opts) .. ")") end
    check_keys(opts, fname, { "type", "nullable", "server_default", "new_name", "using", "comment", "copy_from" }, 0)
    for k in pairs(opts) do
      if k ~= "comment" then
        fail(("alter_column: option '%s' has no place in a schema file, which declares the end state: " ..
              "write it in the column spec of create_table; only `comment` is declared with alter_column"):format(k))
      end
    end
    if type(opts.comment) ~= "string" then fail("alter_column: option 'comment' must be a string") end
    need_pg(st, fname)
    later(st, function(where)
      local tbl = need_table(st, tname, fname, where)
      need_columns(tbl, { cname }, fname, where)
      find_column(tbl, cname).comment = opts.comment
    end)
  end

  function s.include(path)
    check_name(path, "include", "path", 1)
    local full = path
    if not path:match("^/") and include_dir and include_dir ~= "" then full = include_dir .. "/" .. path end
    M.run_file(st, full)
  end

  -- s:create_table(...) passes s as the name: say what is wrong instead
  local names = {}
  for name, f in pairs(s) do
    if type(f) == "function" then
      names[#names + 1] = name
      s[name] = function(first, ...)
        if first == s then fail(("call s.%s(...) with a dot, not s:%s(...)"):format(name, name)) end
        return f(first, ...)
      end
    end
  end
  table.sort(names)
  -- an unknown function: a typo, or an op that has no place in a schema
  return setmetatable(s, { __index = function(_, key)
    local best = type(key) == "string" and suggest(key, names)
    if best then fail(("s.%s does not exist (did you mean s.%s?)"):format(tostring(key), best)) end
    fail(("s.%s does not exist: a schema file declares the end state with %s"):format(
      tostring(key), "s." .. table.concat(names, ", s.")))
  end })
end

-- Run the schema file at path with a builder bound to st.
function M.run_file(st, path)
  st.files = st.files or {}
  if st.files[path] then fail(('include "%s": the file is already included (at %s)'):format(path, st.files[path])) end
  st.files[path] = st.files[path] or caller_where()
  local f, err = io.open(path, "r")
  if not f then fail(("cannot read schema file %s"):format(err)) end
  local text = f:read("a")
  f:close()
  local chunk, cerr = load(text, "@" .. path, "t")
  if not chunk then error(cerr, 0) end
  local dir = path:match("^(.*)/[^/]*$") or ""
  chunk(builder(st, dir))
end

-- Run the schema source text (chunk name name) with a builder bound to st;
-- s.include() paths are relative to dir.
function M.run_string(st, text, name, dir)
  local chunk, cerr = load(text, "@" .. (name or "schema.lua"), "t")
  if not chunk then error(cerr, 0) end
  chunk(builder(st, dir or ""))
end

-- Resolve what needs every table (indexes, constraints, comments) and
-- return the model (contract format, declared spellings).
function M.finish(st)
  for _, l in ipairs(st.later) do l.fn(l.where) end
  local m = { dialect = st.dialect, default_schema = st.default_schema, schemas = {}, tables = {} }
  for name in pairs(st.schemas) do m.schemas[#m.schemas + 1] = name end
  table.sort(m.schemas)
  for _, key in ipairs(st.order) do
    local t = st.tables[key]
    local tbl = t.tbl
    if tbl.schema and not st.schemas[tbl.schema] then
      fail(('create_table "%s.%s": schema "%s" is not declared; add s.create_schema("%s")'):format(
        tbl.schema, tbl.name, tbl.schema, tbl.schema), t.where)
    end
    for _, fk in ipairs(tbl.foreign_keys) do
      local rkey = fk.ref_schema and (fk.ref_schema .. "." .. fk.ref_table) or fk.ref_table
      local rt = st.tables[rkey]
      if not rt then
        fail(('foreign key on "%s" references table "%s", which is not declared in the schema'):format(key, rkey), fk.where)
      end
      for _, c in ipairs(fk.ref_columns) do
        if not find_column(rt.tbl, c) then
          fail(('foreign key on "%s" references column "%s.%s", which is not declared'):format(key, rkey, c), fk.where)
        end
      end
      fk.where = nil
    end
    m.tables[key] = tbl
  end
  return m
end

-- Load the schema file at path for dialect: the declared model.
function M.load(path, dialect, default_schema)
  local st = M.new(dialect, default_schema)
  M.run_file(st, path)
  return M.finish(st)
end

-- The same from source text (for specs and tools).
function M.load_string(text, dialect, default_schema, name, dir)
  local st = M.new(dialect, default_schema)
  M.run_string(st, text, name, dir)
  return M.finish(st)
end

return M
