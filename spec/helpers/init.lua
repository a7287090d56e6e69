-- spec/helpers/init.lua: the spec harness (Kong's spec/helpers, LuaRocks'
-- test_env). Loaded once by busted as the `helper` named in .busted, and by
-- specs as `local h = require "helpers"`; both get the same table.
--
--   h.root                    absolute path of the repository
--   h.bin()                   absolute path of the CLI (LMIGRATE_BIN or build/lmigrate)
--   h.tmpdir() / h.rmdir(d)   fresh mktemp -d directory, removed when the process exits
--   h.write/read/exists       small file helpers (write creates parent directories)
--   h.run(args, opts)         run the CLI -> { code=, out=, err=, cmd= }
--   h.sqlite(db, sql)         rows (arrays of strings, h.NULL for NULL) via the sqlite3 CLI
--   h.sqlite_exec(db, sql)    run SQL, raise on failure
--   h.query(db, sql)          the same for any backend URL (sqlite path/URL, postgresql://)
--   h.each_backend()          backends to run integration specs on (LMIGRATE_TEST_BACKENDS)
--   h.db_url(backend, dir)    a fresh database URL for that backend
--   h.project(dir, revs)      lmigrate.lua + versions/<file> for each { file=, text= }
--
-- Registered assertions: has_table, has_no_table, has_column, has_no_column,
-- has_index, has_no_index, version_is (see the bottom of this file).

if package.loaded.helpers then return package.loaded.helpers end

local h = {}
package.loaded.helpers = h

-- Field separators for CLI output: ASCII unit/record separators cannot occur
-- in the names and small values specs compare, and are not whitespace.
local US, RS = "\31", "\30"
h.NULL = "\29NULL\29"  -- what h.sqlite()/h.query() return for SQL NULL

---------------------------------------------------------------------------
-- shell and paths

-- Single-quote s for /bin/sh.
function h.quote(s)
  s = tostring(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
local Q = h.quote

-- Run a shell command, return its stdout (trailing newline stripped) or
-- raise with the command and status.
local function capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok, how, code = p:close()
  if not ok then
    error(("command failed (%s %s): %s"):format(how, tostring(code), cmd), 2)
  end
  return (out:gsub("\n$", ""))
end

local function is_abs(p) return p:sub(1, 1) == "/" end

h.root = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/spec/helpers/init%.lua$") or "."
  if dir == "" then dir = "." end
  return capture("cd " .. Q(dir) .. " && pwd -P")
end)()

-- p made absolute against the repository root.
function h.abspath(p)
  if is_abs(p) then return p end
  return h.root .. "/" .. p:gsub("^%./", "")
end

function h.bin()
  return h.abspath(os.getenv("LMIGRATE_BIN") or "build/lmigrate")
end

-- make asan-test sets LMIGRATE_CPATH to the instrumented build: load that
-- lmigrate.core now, so a spec that prepends ./build/lib to package.cpath
-- still gets the build under test from require.
do
  local forced = os.getenv("LMIGRATE_CPATH")
  local path = forced and package.searchpath("lmigrate.core", forced)
  if path then
    local open = package.loadlib(path, "luaopen_lmigrate_core")
    if open then package.loaded["lmigrate.core"] = open("lmigrate.core", path) end
  end
end

---------------------------------------------------------------------------
-- temporary directories, removed when the Lua state closes (busted exits
-- through os.exit(code, true)). LMIGRATE_KEEP_TMP=1 keeps them.

local tmpdirs = {}
h._tmp_reaper = setmetatable({}, { __gc = function()
  if os.getenv("LMIGRATE_KEEP_TMP") then return end
  for d in pairs(tmpdirs) do os.execute("rm -rf " .. Q(d)) end
end })

function h.tmpdir()
  local d = capture("mktemp -d \"${TMPDIR:-/tmp}/lmigrate-spec.XXXXXX\"")
  d = capture("cd " .. Q(d) .. " && pwd -P")
  tmpdirs[d] = true
  return d
end

-- Remove a directory made by h.tmpdir() now (e.g. from a `finally`).
function h.rmdir(d)
  assert(type(d) == "string" and d ~= "" and d ~= "/", "h.rmdir: refusing " .. tostring(d))
  os.execute("rm -rf " .. Q(d))
  tmpdirs[d] = nil
end

---------------------------------------------------------------------------
-- files

function h.write(path, text)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then os.execute("mkdir -p " .. Q(dir)) end
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
  return path
end

function h.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function h.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

---------------------------------------------------------------------------
-- running the CLI

-- Variables a developer's shell may hold that would change what the CLI
-- connects to; specs never inherit them (pass them in opts.env to test them).
local SCRUB = { "LMIGRATE_URL", "DATABASE_URL" }

-- Run the CLI. args: a string, inserted as shell words as-is ("upgrade
-- head"), or an array of arguments, each quoted. opts:
--   cwd     directory to run in (default: the repository root)
--   env     table of extra variables; a value of false unsets one
--   stdin   text fed to stdin (default: </dev/null)
--   bin     another program to run instead of h.bin()
--   timeout seconds before `timeout` kills it (exit 124)
-- Returns { code = exit status (128+N for signal N), out = stdout,
-- err = stderr, cmd = the shell command }.
function h.run(args, opts)
  opts = opts or {}
  local words = {}
  if type(args) == "table" then
    for i = 1, #args do words[i] = Q(args[i]) end
  elseif args ~= nil then
    words[1] = tostring(args)
  end

  -- env(1) wants every -u before the first NAME=VALUE.
  local env, sets = { "env" }, {}
  local extra = opts.env or {}
  for _, k in ipairs(SCRUB) do
    if extra[k] == nil then env[#env + 1] = "-u " .. k end
  end
  -- The revision cache goes to a per-process temp dir, not the developer's
  -- ~/.cache (specs that test the cache pass their own XDG_CACHE_HOME).
  if extra.XDG_CACHE_HOME == nil then
    h._cache_home = h._cache_home or h.tmpdir()
    sets[#sets + 1] = "XDG_CACHE_HOME=" .. Q(h._cache_home)
  end
  -- make asan-test: the CLI runs with leak detection although the
  -- interpreter running busted does not.
  local child_asan = os.getenv("LMIGRATE_CHILD_ASAN_OPTIONS")
  if child_asan and extra.ASAN_OPTIONS == nil then
    sets[#sets + 1] = "ASAN_OPTIONS=" .. Q(child_asan)
  end
  local keys = {}
  for k in pairs(extra) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = extra[k]
    if v == false then env[#env + 1] = "-u " .. k
    else sets[#sets + 1] = k .. "=" .. Q(v) end
  end
  for _, s in ipairs(sets) do env[#env + 1] = s end

  local out, err = os.tmpname(), os.tmpname()
  local input = "/dev/null"
  local infile
  if opts.stdin then
    infile = os.tmpname()
    h.write(infile, opts.stdin)
    input = infile
  end

  local prog = Q(opts.bin or h.bin())
  if opts.timeout then prog = "timeout -k 5 " .. tonumber(opts.timeout) .. " " .. prog end
  local cmd = ("cd %s && exec %s %s %s <%s >%s 2>%s"):format(
    Q(opts.cwd or h.root), table.concat(env, " "), prog,
    table.concat(words, " "), Q(input), Q(out), Q(err))
  local ok, how, n = os.execute(cmd)
  local code
  if how == "exit" then code = n else code = 128 + (n or 0) end
  if ok == true then code = 0 end
  local res = { code = code, out = h.read(out), err = h.read(err), cmd = cmd }
  os.remove(out); os.remove(err)
  if infile then os.remove(infile) end
  return res
end

---------------------------------------------------------------------------
-- looking into databases

-- "sqlite:PATH", "sqlite:///rel", "sqlite:////abs" or a plain path ->
-- ("sqlite", path); "postgres[ql]://..." -> ("postgres", url).
function h.parse_db(db)
  assert(type(db) == "string", "database: expected a path or URL, got " .. type(db))
  if db:match("^postgres") then return "postgres", db end
  local p = db:match("^sqlite:(.*)$")
  if p then
    if p:sub(1, 3) == "///" then p = p:sub(4) end
    return "sqlite", p
  end
  return "sqlite", db
end

local function split_rows(text)
  local rows = {}
  for rec in text:gmatch("([^" .. RS .. "]*)" .. RS) do
    local row = {}
    for field in (rec .. US):gmatch("([^" .. US .. "]*)" .. US) do
      row[#row + 1] = field
    end
    rows[#rows + 1] = row
  end
  return rows
end

local function run_sql(program, args, sql)
  local file = os.tmpname()
  h.write(file, sql)
  local errf = os.tmpname()
  -- The database CLIs never run with make asan-test's preloaded libasan
  -- (psql's GSSAPI start-up deadlocks under the interceptors).
  local cmd = ("env -u LD_PRELOAD %s %s <%s 2>%s"):format(program, args, Q(file), Q(errf))
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok = p:close()
  local err = h.read(errf)
  os.remove(file); os.remove(errf)
  if not ok then
    error(("%s failed: %s\nSQL: %s"):format(program, err:gsub("%s+$", ""), sql), 3)
  end
  return out
end

-- Rows of `sql` run by the sqlite3 CLI on db (a path or sqlite: URL), as
-- arrays of strings; SQL NULL is h.NULL. Raises on an SQL error.
function h.sqlite(db, sql)
  local _, path = h.parse_db(db)
  local out = run_sql("sqlite3",
    "-batch -bail -init /dev/null -noheader -list -separator " .. Q(US) ..
    " -newline " .. Q(RS) .. " -nullvalue " .. Q(h.NULL) .. " " .. Q(path), sql)
  return split_rows(out)
end

function h.sqlite_exec(db, sql)
  h.sqlite(db, sql)
  return true
end

-- Rows of `sql` on a PostgreSQL URL, through psql, same shape as h.sqlite.
function h.psql(url, sql)
  local out = run_sql("psql",
    "-X -q -A -t -v ON_ERROR_STOP=1 -F " .. Q(US) .. " -R " .. Q(RS) ..
    " -P null=" .. Q(h.NULL) .. " -d " .. Q(url), sql)
  out = out:gsub("\n$", "")
  if out == "" then return {} end
  return split_rows(out .. RS)
end

-- Rows of sql on any database the helpers understand.
function h.query(db, sql)
  local kind, target = h.parse_db(db)
  if kind == "postgres" then return h.psql(target, sql) end
  return h.sqlite(target, sql)
end

-- A SQL string literal ('..''..'), for the queries the assertions build.
function h.literal(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end
local L = h.literal

local function column(rows, i)
  local t = {}
  for _, r in ipairs(rows) do t[#t + 1] = r[i or 1] end
  return t
end

-- Names of the tables in db (current schema on PostgreSQL), sorted.
function h.tables(db)
  local kind = h.parse_db(db)
  local rows
  if kind == "postgres" then
    rows = h.query(db, "SELECT table_name FROM information_schema.tables " ..
      "WHERE table_schema = current_schema() ORDER BY 1")
  else
    rows = h.query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
  end
  return column(rows)
end

-- { {name, declared type}, ... } of a table's columns, in order.
function h.columns(db, tbl)
  local kind = h.parse_db(db)
  if kind == "postgres" then
    return h.query(db, "SELECT column_name, data_type FROM information_schema.columns " ..
      "WHERE table_schema = current_schema() AND table_name = " .. L(tbl) ..
      " ORDER BY ordinal_position")
  end
  return h.query(db, "SELECT name, type FROM pragma_table_info(" .. L(tbl) .. ") ORDER BY cid")
end

function h.indexes(db)
  local kind = h.parse_db(db)
  if kind == "postgres" then
    return column(h.query(db, "SELECT indexname FROM pg_indexes " ..
      "WHERE schemaname = current_schema() ORDER BY 1"))
  end
  return column(h.query(db, "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY 1"))
end

-- The version_num rows of the version table (default lmigrate_version),
-- sorted; {} when the table does not exist.
function h.versions(db, vtable)
  vtable = vtable or "lmigrate_version"
  local found = false
  for _, t in ipairs(h.tables(db)) do if t == vtable then found = true end end
  if not found then return {}, false end
  local quoted = '"' .. vtable:gsub('"', '""') .. '"'
  local v = column(h.query(db, "SELECT version_num FROM " .. quoted))
  table.sort(v)
  return v, true
end

---------------------------------------------------------------------------
-- backends

local KNOWN_BACKENDS = { sqlite = true, postgres = true }

-- Backends the integration specs run on, after Kong's each_strategy:
-- LMIGRATE_TEST_BACKENDS=sqlite,postgres narrows or widens the default.
function h.each_backend()
  local env = os.getenv("LMIGRATE_TEST_BACKENDS")
  local list = {}
  if env and env:match("%S") then
    for name in env:gmatch("[^,%s]+") do
      if not KNOWN_BACKENDS[name] then
        error("LMIGRATE_TEST_BACKENDS: unknown backend '" .. name .. "'", 2)
      end
      list[#list + 1] = name
    end
  else
    -- Every spec runs on both backends so they never drift; a missing
    -- PostgreSQL server is a loud failure (h.db_url), never a skip.
    list = { "sqlite", "postgres" }
  end
  return list
end

local pg_seq = 0

-- A fresh, empty database URL for backend. sqlite: a file in dir (which
-- should come from h.tmpdir()). postgres: a new database lm_<pid>_<n> on
-- the server at LMIGRATE_TEST_PG_URL; without it, a loud error.
function h.db_url(backend, dir)
  if backend == "sqlite" then
    assert(dir, "h.db_url: sqlite needs a directory")
    return "sqlite:" .. dir .. "/test.db"
  elseif backend == "postgres" then
    local base = os.getenv("LMIGRATE_TEST_PG_URL")
    if not base or base == "" then
      error("postgres backend requested but LMIGRATE_TEST_PG_URL is not set " ..
            "(make test starts a throwaway server with spec/support/pgtmp.sh)", 2)
    end
    pg_seq = pg_seq + 1
    local t = os.tmpname()
    os.remove(t)
    local name = ("lm_%s_%d"):format(t:match("(%w+)$"):lower(), pg_seq)
    h.psql(base, "CREATE DATABASE " .. name)
    local prefix, rest = base:match("^(postgres[ql]*://[^/]*/)[^?]*(.*)$")
    assert(prefix, "LMIGRATE_TEST_PG_URL: cannot find the database part of " .. base)
    return prefix .. name .. rest
  end
  error("h.db_url: unknown backend '" .. tostring(backend) .. "'", 2)
end

-- Write a project into dir: lmigrate.lua (opts.config text, or the default
-- below) and versions/<file> for every { file = , text = } in revisions.
function h.project(dir, revisions, opts)
  opts = opts or {}
  h.write(dir .. "/lmigrate.lua", opts.config or
    'return { url = "sqlite:test.db", script_location = "versions" }\n')
  os.execute("mkdir -p " .. Q(dir .. "/versions"))
  for _, r in ipairs(revisions or {}) do
    h.write(dir .. "/versions/" .. r.file, r.text)
  end
  return dir
end

---------------------------------------------------------------------------
-- assertions (Kong's assert:register + say:set). Each callback writes the
-- message for the direction that is being asserted into the arguments, so
-- failures read "Expected database X to have table Y (tables: a, b)".

local say = require "say"
local luassert = require "luassert"

local function list(t)
  if #t == 0 then return "none" end
  return table.concat(t, ", ")
end

local function register(name, check)
  local key = "assertion." .. name
  say:set(key .. ".positive", "%s")
  say:set(key .. ".negative", "%s")
  luassert:register("assertion", name, function(state, args)
    local ok, yes, no = check(table.unpack(args, 1, args.n))
    args[1] = state.mod and yes or no
    args.n = 1
    args.nofmt = { true }
    return ok
  end, key .. ".positive", key .. ".negative")
end

register("has_table", function(db, name)
  local tables = h.tables(db)
  local ok = false
  for _, t in ipairs(tables) do if t == name then ok = true end end
  return ok,
    ("Expected database %s to have table '%s' (tables: %s)"):format(db, name, list(tables)),
    ("Expected database %s not to have table '%s'"):format(db, name)
end)

register("has_column", function(db, tbl, col, typ)
  local cols = h.columns(db, tbl)
  local names, found = {}, nil
  for _, c in ipairs(cols) do
    names[#names + 1] = c[1] .. " " .. c[2]
    if c[1] == col then found = c[2] end
  end
  local what = ("column '%s'%s"):format(col, typ and (" of type '" .. typ .. "'") or "")
  local ok = found ~= nil and (typ == nil or found:lower() == typ:lower())
  local have = #cols == 0 and ("no table '" .. tbl .. "'") or ("columns: " .. list(names))
  return ok,
    ("Expected table '%s' in %s to have %s (%s)"):format(tbl, db, what, have),
    ("Expected table '%s' in %s not to have %s"):format(tbl, db, what)
end)

register("has_index", function(db, name)
  local idx = h.indexes(db)
  local ok = false
  for _, i in ipairs(idx) do if i == name then ok = true end end
  return ok,
    ("Expected database %s to have index '%s' (indexes: %s)"):format(db, name, list(idx)),
    ("Expected database %s not to have index '%s'"):format(db, name)
end)

-- version_is(db, ids [, version_table]): ids is a list (order ignored) or
-- one id string; {} means an empty or missing version table.
register("version_is", function(db, ids, vtable)
  if type(ids) == "string" then ids = { ids } end
  assert(type(ids) == "table", "version_is: expected a list of revision ids")
  local want = {}
  for i, v in ipairs(ids) do want[i] = v end
  table.sort(want)
  local got, exists = h.versions(db, vtable)
  local ok = #got == #want
  for i = 1, #want do if got[i] ~= want[i] then ok = false end end
  local vt = vtable or "lmigrate_version"
  local have = exists and ("{" .. table.concat(got, ", ") .. "}") or "(no table)"
  return ok,
    ("Expected %s in %s to hold {%s}, but it holds %s"):format(vt, db, table.concat(want, ", "), have),
    ("Expected %s in %s not to hold {%s}"):format(vt, db, table.concat(want, ", "))
end)

-- assert.has_no_table & co.: luassert would parse "has_no_table" as
-- "no" + the built-in type check "table", so the negations are set directly.
for _, name in ipairs({ "table", "column", "index" }) do
  rawset(luassert, "has_no_" .. name, function(...)
    return luassert.is_not["has_" .. name](...)
  end)
end

-- Lua source for a string, a list of strings, or nil.
function h.lit(v)
  if v == nil then return "nil" end
  if type(v) == "table" then
    local t = {}
    for i, s in ipairs(v) do t[i] = ("%q"):format(s) end
    return "{ " .. table.concat(t, ", ") .. " }"
  end
  return ("%q"):format(v)
end

-- A revision file { file=, text= } for h.project. r.id, r.down (string,
-- list or nil), r.msg, r.fields (extra raw lines), r.up / r.dn (Lua
-- statements using op; r.dn = false leaves downgrade out), r.slug (file
-- name part, default "rev"). Line numbers: upgrade is on line 5 (6 with
-- r.fields).
function h.rev(r)
  local lit = h.lit
  local lines = {
    "return {",
    "  revision = " .. lit(r.id) .. ",",
    "  down_revision = " .. lit(r.down) .. ",",
    "  message = " .. lit(r.msg or ("rev " .. r.id)) .. ",",
  }
  if r.fields then lines[#lines + 1] = r.fields end
  lines[#lines + 1] = "  upgrade = function(op) " .. (r.up or "") .. " end,"
  if r.dn ~= false then
    lines[#lines + 1] = "  downgrade = function(op) " .. (r.dn or "") .. " end,"
  end
  lines[#lines + 1] = "}"
  return { file = r.id .. "_" .. (r.slug or "rev") .. ".lua",
           text = table.concat(lines, "\n") .. "\n" }
end


-- A fresh project (lmigrate.lua + versions/ holding revs) on a fresh
-- database of backend; returns its directory and URL. opts.config is the
-- whole config file's text; otherwise opts.extra is Lua source added to
-- the config table (e.g. 'lint = "off",').
function h.setup(backend, revs, opts)
  opts = opts or {}
  local dir = h.tmpdir()
  local url = h.db_url(backend, dir)
  h.project(dir, revs, { config = opts.config or
    ("return { url = %q, script_location = \"versions\", %s }\n")
      :format(url, opts.extra or "") })
  return dir, url
end

-- h.run with the project directory dir as the working directory.
function h.run_in(dir, args, opts)
  opts = opts or {}
  opts.cwd = dir
  return h.run(args, opts)
end

-- A run's command, exit status and output, for assertion messages.
function h.show(r)
  return ("%s\nexit %d\nstdout:\n%s\nstderr:\n%s"):format(r.cmd, r.code, r.out, r.err)
end

-- History rows of url as "revision direction outcome" strings, oldest first.
function h.history(url)
  local t = {}
  for _, r in ipairs(h.query(url, "SELECT revision, direction, outcome " ..
      "FROM lmigrate_version_history ORDER BY id")) do
    t[#t + 1] = table.concat(r, " ")
  end
  return t
end

return h
