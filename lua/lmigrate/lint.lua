-- lmigrate.lint: the lint engine (docs/online-safety.md).
--
-- The C half (src/lint_run.c) runs every revision's upgrade and data
-- functions against the offline (--sql) rendering and hands over, per
-- revision, the list of op calls it made:
--   { op = "add_column", args = { "users", { "phone", "text" }, n = 2 },
--     sql = "ALTER TABLE ...", file = "versions/x.lua", line = 7,
--     phase = "upgrade" | "data", error = "..."? }
-- This module keeps a model of the schema those ops build (tables, column
-- types, CHECK constraints and whether they are validated, indexes), runs
-- the rules (lua/lmigrate/lint/<name>.lua, plus the project's own from
-- config lint.rules_path) on the target revisions' records, and formats
-- the report.
--
-- A rule is a table:
--   { name = "rule-name", severity = "error" | "warning",
--     dialects = { postgresql = true } (nil: every dialect),
--     style = true (a design choice, not reported by `upgrade`'s pass),
--     why = "one line", fix = "default fix line",
--     check = function(rec, ctx) return nil | { message =, fix =,
--       severity =, table = (with scans = true: downgraded to a warning
--       when the live table is small), scans = bool } end }
-- ctx (see new_ctx) tells whether a table is new, the revision's flags,
-- the phase, the schema model and, online, the table's size.

local M = {}

-- The built-in rules, in report order (embedded modules cannot be listed).
M.BUILTIN = {
  "require-concurrent-index-creation",
  "require-concurrent-index-deletion",
  "ban-concurrent-index-creation-in-transaction",
  "adding-field-with-default",
  "adding-required-field",
  "adding-primary-key-constraint",
  "changing-column-type",
  "setting-not-nullable-field",
  "ban-drop-not-null",
  "adding-foreign-key-constraint",
  "constraint-missing-not-valid",
  "disallowed-unique-constraint",
  "renaming-column",
  "renaming-table",
  "ban-drop-column",
  "ban-drop-table",
  "prefer-bigint-over-int",
  "prefer-identity",
  "prefer-timestamptz",
  "ban-char-field",
  "whole-table-dml",
  "transaction-nesting",
}

-- A rewrite or scan of a table this small is quick: with a live
-- connection its finding is a warning, not an error.
M.SMALL_ROWS = 10000
M.SMALL_BYTES = 10 * 1024 * 1024

local MODES = { warn = true, error = true, off = true }

-- ---------- helpers shared with the rules ----------

-- Table name as a model key: "public." dropped.
function M.tkey(name)
  if type(name) ~= "string" then return nil end
  return (name:gsub('^public%.', ''))
end

-- A type string, lower case with single spaces.
function M.norm_type(t)
  if type(t) ~= "string" then return "" end
  return (t:lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""):gsub(" ?%( ?", "("):gsub(" ?%) ?", ")"))
end

-- n for string(n) / varchar(n) / character varying(n), else nil.
function M.varchar_len(t)
  t = M.norm_type(t)
  local n = t:match("^string%((%d+)%)$") or t:match("^varchar%((%d+)%)$")
    or t:match("^character varying%((%d+)%)$")
  return n and tonumber(n)
end

-- A column spec's fields ({ name, type, nullable =, ... } as op takes it).
function M.colspec(spec)
  if type(spec) ~= "table" then return nil end
  local pk = spec.primary_key == true
  local nullable = spec.nullable
  if nullable == nil then nullable = not pk end
  return { name = spec[1], type = spec[2], nullable = nullable,
           primary_key = pk, default = spec.default,
           server_default = spec.server_default, unique = spec.unique,
           references = spec.references, autoincrement = spec.autoincrement }
end

-- The first finding check_col(col, table) returns for the columns a
-- create_table or add_column record declares (col as M.colspec gives it),
-- or nil: the shared walk of the rules about column types.
function M.first_new_column(rec, check_col)
  local a = rec.args
  if rec.op == "create_table" then
    for i = 2, (a.n or #a) do
      local f = check_col(M.colspec(a[i]), a[1])
      if f then return f end
    end
  elseif rec.op == "add_column" then
    return check_col(M.colspec(a[2]), a[1])
  end
end

-- The statements of a SQL text with comments and string literals blanked
-- out, each upper-cased and trimmed: for the rules that read op.execute.
function M.statements(sql)
  if type(sql) ~= "string" then return {} end
  local s = sql:gsub("%-%-[^\n]*", " "):gsub("/%*.-%*/", " ")
  s = s:gsub("%$(%w*)%$.-%$%1%$", "''"):gsub("'[^']*'", "''")
  local out = {}
  for stmt in (s .. ";"):gmatch("([^;]*);") do
    stmt = stmt:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
    if stmt ~= "" then out[#out + 1] = stmt:upper() end
  end
  return out
end

-- An unquoted, lower-cased table name from SQL text ("PUBLIC"."T" -> t).
function M.sql_name(s)
  if not s then return nil end
  s = s:gsub('"', ''):lower()
  return M.tkey(s)
end

-- ---------- config ----------

local function fail(msg) error(msg, 0) end

local function name_list(v, where)
  if v == nil then return {} end
  if type(v) ~= "table" then fail(where .. " must be a list of rule names") end
  local out = {}
  for i, name in ipairs(v) do
    if type(name) ~= "string" then
      fail(("%s[%d] must be a rule name (a string)"):format(where, i))
    end
    out[#out + 1] = name
  end
  return out
end

-- The config value `lint` checked: { mode, disable = {names}, rules_path }.
function M.config(v, path)
  path = path or "lmigrate.lua"
  if v == nil then return { mode = "warn", disable = {} } end
  if type(v) == "string" then
    if not MODES[v] then
      fail(("%s: lint = %q is not a mode; use \"warn\", \"error\" or \"off\"")
        :format(path, v))
    end
    return { mode = v, disable = {} }
  end
  if type(v) ~= "table" then
    fail(path .. ": 'lint' must be a mode string or a table")
  end
  for k in pairs(v) do
    if k ~= "mode" and k ~= "disable" and k ~= "rules_path" then
      fail(("%s: unknown key lint.%s (valid: mode, disable, rules_path)")
        :format(path, tostring(k)))
    end
  end
  local mode = v.mode or "warn"
  if not MODES[mode] then
    fail(("%s: lint.mode = %s is not a mode; use \"warn\", \"error\" or \"off\"")
      :format(path, tostring(mode)))
  end
  if v.rules_path ~= nil and type(v.rules_path) ~= "string" then
    fail(path .. ": lint.rules_path must be a directory name (a string)")
  end
  return { mode = mode, disable = name_list(v.disable, path .. ": lint.disable"),
           rules_path = v.rules_path }
end

-- The mode `upgrade` runs the lint in (raises on a malformed config).
function M.mode(v, path)
  return M.config(v, path).mode
end

-- ---------- rules ----------

local function check_rule(rule, where)
  if type(rule) ~= "table" then fail(where .. " must return a rule table") end
  if type(rule.name) ~= "string" or not rule.name:match("^[%w][%w%-_]*$") then
    fail(where .. ": rule.name must be a name such as \"my-rule\"")
  end
  if type(rule.check) ~= "function" then
    fail(where .. ": rule.check must be a function(rec, ctx)")
  end
  if rule.severity ~= "error" and rule.severity ~= "warning" then
    fail(where .. ": rule.severity must be \"error\" or \"warning\"")
  end
  return rule
end

-- The built-in rules and the project's (cfg.rules_path), sorted as
-- M.BUILTIN then by name; and a name -> rule map.
function M.load_rules(cfg, list_lua_files)
  local rules, by_name = {}, {}
  for _, name in ipairs(M.BUILTIN) do
    local rule = check_rule(require("lmigrate.lint." .. name),
                            "lmigrate.lint." .. name)
    rules[#rules + 1] = rule
    by_name[rule.name] = rule
  end
  if cfg.rules_path then
    local files, err = list_lua_files(cfg.rules_path)
    if not files then fail("lint.rules_path: " .. err) end
    for _, f in ipairs(files) do
      local path = cfg.rules_path .. "/" .. f
      local chunk, lerr = loadfile(path, "t")
      if not chunk then fail(lerr) end
      local rule = check_rule(chunk(), path)
      if by_name[rule.name] then
        fail(("%s: rule %q is already defined"):format(path, rule.name))
      end
      rule.custom = true
      rules[#rules + 1] = rule
      by_name[rule.name] = rule
    end
  end
  return rules, by_name
end

local function known_names(by_name)
  local names = {}
  for n in pairs(by_name) do names[#names + 1] = n end
  table.sort(names)
  return names
end

local function check_disable(list, by_name, where)
  local set = {}
  for _, n in ipairs(list) do
    if not by_name[n] then
      fail(("%s: unknown lint rule %q (rules: %s)")
        :format(where, n, table.concat(known_names(by_name), ", ")))
    end
    set[n] = true
  end
  return set
end

-- ---------- the schema model ----------

local function model_table(model, t)
  t = M.tkey(t)
  if not t then return nil end
  local m = model[t]
  if not m then
    m = { columns = {}, checks = {}, indexes = {}, known = false }
    model[t] = m
  end
  return m
end

-- Apply one op record to the model (after the rules saw it).
local function apply(model, indexes, rec, revno, created)
  local a, op = rec.args or {}, rec.op
  if rec.error then return end
  if op == "create_table" then
    local t = model_table(model, a[1])
    if not t then return end
    t.columns, t.checks, t.indexes, t.known = {}, {}, {}, true
    for i = 2, (a.n or #a) do
      local c = M.colspec(a[i])
      if c and c.name then t.columns[c.name] = c end
    end
    created[M.tkey(a[1])] = revno
  elseif op == "drop_table" then
    model[M.tkey(a[1]) or ""] = nil
    created[M.tkey(a[1]) or ""] = nil
  elseif op == "rename_table" then
    local from, to = M.tkey(a[1]), M.tkey(a[2])
    if from and to then
      model[to], model[from] = model[from], nil
      created[to], created[from] = created[from], nil
    end
  elseif op == "add_column" then
    local t, c = model_table(model, a[1]), M.colspec(a[2])
    if t and c and c.name then t.columns[c.name] = c end
  elseif op == "drop_column" then
    local t = model_table(model, a[1])
    if t and a[2] then t.columns[a[2]] = nil end
  elseif op == "alter_column" then
    local t, o = model_table(model, a[1]), a[3]
    if t and type(o) == "table" and a[2] then
      local c = t.columns[a[2]] or { name = a[2] }
      if o.type then c.type = o.type end
      if o.nullable ~= nil then c.nullable = o.nullable end
      if o.new_name then
        t.columns[a[2]] = nil
        c.name = o.new_name
      end
      t.columns[c.name] = c
    end
  elseif op == "create_check_constraint" then
    local t, o = model_table(model, a[2]), a[4]
    if t and a[1] then
      local nv = type(o) == "table" and o.not_valid == true
      t.checks[a[1]] = { cond = a[3], validated = not nv, rev = revno,
                         kind = "check" }
    end
  elseif op == "create_foreign_key" then
    local t, o = model_table(model, a[2]), a[6]
    if t and a[1] then
      local nv = type(o) == "table" and o.not_valid == true
      t.checks[a[1]] = { validated = not nv, rev = revno, kind = "fk" }
    end
  elseif op == "validate_constraint" then
    local t = model_table(model, a[1])
    if t and a[2] and t.checks[a[2]] then
      t.checks[a[2]].validated = true
      t.checks[a[2]].validated_rev = revno
    end
  elseif op == "drop_constraint" then
    local t = model_table(model, a[2])
    if t and a[1] then t.checks[a[1]] = nil end
  elseif op == "create_index" then
    local t, o = model_table(model, a[2]), type(a[4]) == "table" and a[4] or {}
    if t and a[1] then
      local ix = { table = M.tkey(a[2]), cols = a[3], unique = o.unique == true,
                   concurrently = o.concurrently == true, rev = revno }
      t.indexes[a[1]] = ix
      indexes[a[1]] = ix
    end
  elseif op == "drop_index" then
    if a[1] then
      local ix = indexes[a[1]]
      if ix and model[ix.table] then model[ix.table].indexes[a[1]] = nil end
      indexes[a[1]] = nil
    end
  end
end

-- Seed the model from the live catalog (lint_run.c push_catalog): the
-- schema the applied revisions left.
local function seed(model, indexes, catalog)
  for _, r in ipairs(catalog.columns or {}) do
    local t = model_table(model, r[1])
    t.known = true
    t.columns[r[2]] = { name = r[2], type = r[3], nullable = not r[4] }
  end
  for _, r in ipairs(catalog.constraints or {}) do
    local t = model_table(model, r[1])
    t.checks[r[2]] = { cond = r[5] or "",
                       validated = r[4] == true, rev = 0,
                       kind = r[3] == "c" and "check" or "fk" }
  end
  for _, r in ipairs(catalog.indexes or {}) do
    local ix = { table = M.tkey(r[1]) }
    model_table(model, r[1]).indexes[r[2]] = ix
    indexes[r[2]] = ix
  end
end

-- ---------- running ----------

local function new_ctx(opts, model, indexes, created, rev, revno, target_from)
  local ctx = { dialect = opts.dialect, revision = rev, revno = revno,
                model = model,
                indexes = indexes, online = opts.online,
                lock_timeout_ms = opts.lock_timeout_ms }
  -- A table created in this revision (or, linting one run's pending
  -- revisions, in an earlier one of them) is new: locking it harms nobody.
  function ctx.is_new(t)
    local r = created[M.tkey(t) or ""]
    if r == nil then return false end
    return r == revno or (opts.pending and r >= target_from)
  end
  function ctx.table(t) return model[M.tkey(t) or ""] end
  function ctx.column(t, c)
    local m = model[M.tkey(t) or ""]
    return m and m.columns[c]
  end
  -- rows, bytes of a live table (online), or nil.
  function ctx.size(t)
    local s = opts.sizes and (opts.sizes[t] or opts.sizes[M.tkey(t) or ""])
    if s then return s.rows, s.bytes end
    return nil
  end
  return ctx
end

local function json_str(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n',
                  ['\t'] = '\\t', ['\r'] = '\\r' }
    return map[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function format_json(findings, nrevs, nerr, nwarn)
  local out = {}
  for _, f in ipairs(findings) do
    out[#out + 1] = ('{"file":%s,"line":%d,"rule":%s,"severity":%s,'
      .. '"message":%s,"fix":%s,"revision":%s,"op":%s,"phase":%s}')
      :format(json_str(f.file), f.line or 0, json_str(f.rule),
              json_str(f.severity), json_str(f.message), json_str(f.fix or ""),
              json_str(f.revision), json_str(f.op or ""), json_str(f.phase or ""))
  end
  return ('{"revisions":%d,"errors":%d,"warnings":%d,"findings":[%s]}\n')
    :format(nrevs, nerr, nwarn, table.concat(out, ","))
end

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

local function format_text(findings, nrevs, nerr, nwarn, purpose)
  local out = {}
  for _, f in ipairs(findings) do
    out[#out + 1] = ("%s:%d: %s: %s: %s\n"):format(f.file, f.line or 0,
      f.rule, f.severity, f.message)
    if f.fix and f.fix ~= "" then out[#out + 1] = "  fix: " .. f.fix .. "\n" end
  end
  if purpose == "upgrade" then
    if #findings > 0 then
      out[#out + 1] = ("lmigrate: lint: %s, %s in the %s to apply "
        .. "(docs/online-safety.md)\n")
        :format(plural(nerr, "error"), plural(nwarn, "warning"),
                plural(nrevs, "revision"))
    end
  elseif #findings == 0 then
    out[#out + 1] = ("lint: no findings in %s\n"):format(plural(nrevs, "revision"))
  else
    out[#out + 1] = ("lint: %s, %s in %s\n"):format(plural(nerr, "error"),
      plural(nwarn, "warning"), plural(nrevs, "revision"))
  end
  return table.concat(out)
end

-- A finding from an op the offline rendering refused (PostgreSQL only:
-- on SQLite, a table rebuild without copy_from cannot render offline).
local function op_error(rec, rev)
  return { rule = "op-error", severity = "error", file = rec.file or rev.path,
           line = rec.line or 0, revision = rev.id, op = rec.op,
           phase = rec.phase,
           message = ("op.%s fails: %s"):format(rec.op, rec.error),
           fix = "run `lmigrate upgrade --sql` to see the full error" }
end

-- Lint revs (run order; rev.target marks the ones to report on) with
-- opts from lint_run.c. Returns the report text and the error count.
function M.run(revs, opts)
  local cfg = M.config(opts.config, opts.config_path)
  local rules, by_name = M.load_rules(cfg, opts.list_lua_files)
  local project_off = check_disable(cfg.disable, by_name,
                                    opts.config_path .. ": lint.disable")
  local model, indexes, created = {}, {}, {}
  if opts.catalog then seed(model, indexes, opts.catalog) end
  local findings, nerr, nwarn, ntargets = {}, 0, 0, 0
  local target_from
  for revno, rev in ipairs(revs) do
    if rev.target and not target_from then target_from = revno end
  end
  target_from = target_from or (#revs + 1)
  for revno, rev in ipairs(revs) do
    local off = {}
    if rev.target then
      ntargets = ntargets + 1
      if rev.lint ~= nil then
        if type(rev.lint) ~= "table" then
          fail(rev.path .. ": 'lint' must be a table { disable = { \"rule\" } }")
        end
        for k in pairs(rev.lint) do
          if k ~= "disable" then
            fail(("%s: unknown key lint.%s in the revision (valid: disable)")
              :format(rev.path, tostring(k)))
          end
        end
        off = check_disable(name_list(rev.lint.disable, rev.path .. ": lint.disable"),
                            by_name, rev.path .. ": lint.disable")
      end
    end
    local ctx = new_ctx(opts, model, indexes, created, rev, revno, target_from)
    local recs = {}
    for _, r in ipairs(rev.upgrade or {}) do recs[#recs + 1] = r end
    for _, r in ipairs(rev.data or {}) do recs[#recs + 1] = r end
    ctx.ops = recs
    for i, rec in ipairs(recs) do
      ctx.index = i
      ctx.phase = rec.phase
      ctx.transactional = rev.transactional and rec.phase == "upgrade"
      if rev.target then
        if rec.error and opts.dialect == "postgresql" and opts.purpose ~= "upgrade" then
          findings[#findings + 1] = op_error(rec, rev)
          nerr = nerr + 1
        elseif not rec.error then
          for _, rule in ipairs(rules) do
            if not project_off[rule.name] and not off[rule.name] and
               not (rule.style and opts.purpose == "upgrade") and
               (rule.dialects == nil or rule.dialects[opts.dialect]) then
              local f = rule.check(rec, ctx)
              if f then
                local sev = f.severity or rule.severity
                local msg = f.message
                if f.scans and f.table and sev == "error" then
                  local rows, bytes = ctx.size(f.table)
                  if rows and bytes and rows < M.SMALL_ROWS and bytes < M.SMALL_BYTES then
                    sev = "warning"
                    msg = msg .. (" (table %q is small: ~%d rows, %d kB, so this is quick)")
                      :format(f.table, math.max(rows, 0), bytes // 1024)
                  end
                end
                findings[#findings + 1] = {
                  rule = rule.name, severity = sev, message = msg,
                  fix = f.fix or rule.fix, file = rec.file or rev.path,
                  line = rec.line or 0, revision = rev.id, op = rec.op,
                  phase = rec.phase }
                if sev == "error" then nerr = nerr + 1 else nwarn = nwarn + 1 end
              end
            end
          end
        end
      end
      apply(model, indexes, rec, revno, created)
    end
  end
  local text
  if opts.json then text = format_json(findings, ntargets, nerr, nwarn)
  else text = format_text(findings, ntargets, nerr, nwarn, opts.purpose) end
  return text, nerr
end

return M
