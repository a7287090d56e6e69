-- lmigrate.model: normalisation of a schema model (the table format of
-- /work/issue11-contract.md) so that a declared model (lmigrate.schema:
-- portable types, defaults as written) and a reflected one (the database's
-- own spellings) can be compared field by field.
--
-- normalize(m) returns a copy of m in which every column also has
--   ntype     the canonical type: lower case, single spaces, no space after
--             commas, aliases folded (PostgreSQL: int4 -> integer,
--             varchar(n) -> character varying(n), timestamptz ->
--             timestamp with time zone, ...); declared portable types go
--             through core.map_type first, the rules op renders with;
--   ndefault  the canonical server default (sql_norm below), or nil;
-- and every index column expression, index predicate and check its
-- canonical text (nexpr / nwhere / nsql). The raw fields are kept: the
-- revision renderer writes the declared spellings, and the reflected ones
-- when it re-creates what a downgrade must restore.
--
-- Expressions are compared as token lists, after dropping what the
-- databases add on their own: `::type` casts, redundant parentheses, the
-- case of keywords and unquoted identifiers, double quotes around plain
-- names; now() and CURRENT_TIMESTAMP are the same. When two defaults still
-- differ and one is more than a literal or a known keyword, the diff reports
-- "cannot compare" instead of rendering a change each time (is_simple).

local core_ok, core = pcall(require, "lmigrate.core")
if not core_ok then core = nil end

local M = {}

-- ---------- SQL expressions ----------

-- Split SQL text into tokens { t = kind, v = text }: kinds "str" ('...'),
-- "qid" ("..."), "num", "id" (identifier or keyword, lower-cased), "op".
local function tokenize(s)
  local toks, i, n = {}, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      i = i + 1
    elseif c == "'" or c == '"' then
      local j = i + 1
      while j <= n do
        if s:sub(j, j) == c then
          if s:sub(j + 1, j + 1) == c then j = j + 2 else break end
        else
          j = j + 1
        end
      end
      toks[#toks + 1] = { t = c == "'" and "str" or "qid", v = s:sub(i, j) }
      i = j + 1
    elseif c:match("%d") or (c == "." and s:sub(i + 1, i + 1):match("%d")) then
      local j = i
      while j <= n and s:sub(j, j):match("[%d%.eE]") do j = j + 1 end
      toks[#toks + 1] = { t = "num", v = s:sub(i, j - 1) }
      i = j
    elseif c:match("[%a_]") then
      local j = i
      while j <= n and s:sub(j, j):match("[%w_$]") do j = j + 1 end
      toks[#toks + 1] = { t = "id", v = s:sub(i, j - 1):lower() }
      i = j
    else
      local two = s:sub(i, i + 1)
      if two == "::" or two == "<>" or two == "!=" or two == "<=" or two == ">=" or two == "||" then
        toks[#toks + 1] = { t = "op", v = two }
        i = i + 2
      else
        toks[#toks + 1] = { t = "op", v = c }
        i = i + 1
      end
    end
  end
  return toks
end

-- Words that continue a type name after a cast: ::character varying,
-- ::double precision, ::timestamp with time zone.
local TYPE_WORDS = { varying = true, precision = true, with = true, without = true,
                     time = true, zone = true }

-- Remove `::type` casts from toks. A quoted number that was cast becomes
-- a number ('1.5'::numeric -> 1.5).
local function drop_casts(toks)
  local out, i = {}, 1
  while i <= #toks do
    local tk = toks[i]
    if tk.v == "::" and tk.t == "op" then
      i = i + 1
      if toks[i] and (toks[i].t == "id" or toks[i].t == "qid") then i = i + 1 end
      while toks[i] do
        if toks[i].t == "id" and TYPE_WORDS[toks[i].v] then
          i = i + 1
        elseif toks[i].v == "(" then
          local depth = 0
          repeat
            if toks[i].v == "(" then depth = depth + 1 elseif toks[i].v == ")" then depth = depth - 1 end
            i = i + 1
          until depth == 0 or not toks[i]
        elseif toks[i].v == "[" and toks[i + 1] and toks[i + 1].v == "]" then
          i = i + 2
        else
          break
        end
      end
      local prev = out[#out]
      if prev and prev.t == "str" and prev.v:match("^'%-?%d+%.?%d*'$") then
        out[#out] = { t = "num", v = prev.v:sub(2, -2) }
      end
    else
      out[#out + 1] = tk
      i = i + 1
    end
  end
  return out
end

local is_operand_group

-- The index of the ")" matching the "(" at toks[i].
local function match_paren(toks, i)
  local depth = 0
  for j = i, #toks do
    if toks[j].v == "(" and toks[j].t == "op" then depth = depth + 1
    elseif toks[j].v == ")" and toks[j].t == "op" then
      depth = depth - 1
      if depth == 0 then return j end
    end
  end
end

local BOOL_LEFT = { ["("] = true, [","] = true, ["and"] = true, ["or"] = true, ["not"] = true }
local BOOL_RIGHT = { [")"] = true, [","] = true, ["and"] = true, ["or"] = true }

-- true when toks[i] opens a parenthesised operand of AND / OR / NOT (or a
-- list item) that holds no AND / OR of its own: comparisons and arithmetic
-- bind tighter than those, so PostgreSQL's "((a > 0) AND (b IS NULL))"
-- means "a > 0 AND b IS NULL".
is_operand_group = function(toks, i)
  local tk = toks[i]
  if tk.t ~= "op" or tk.v ~= "(" then return false end
  local prev = toks[i - 1]
  if prev and not BOOL_LEFT[prev.v] then return false end
  local j = match_paren(toks, i)
  if not j then return false end
  local nxt = toks[j + 1]
  if nxt and not BOOL_RIGHT[nxt.v] then return false end
  local depth = 0
  for k = i + 1, j - 1 do
    local v = toks[k].v
    if v == "(" and toks[k].t == "op" then depth = depth + 1
    elseif v == ")" and toks[k].t == "op" then depth = depth - 1
    elseif depth == 0 and toks[k].t == "id" and (v == "and" or v == "or") then return false end
  end
  return true
end

-- Drop parentheses that change nothing: around the whole expression,
-- around a single token (not a function call's), around a parenthesised
-- group, and fold a sign into the number after it.
local function simplify(toks)
  local changed = true
  while changed do
    changed = false
    if #toks >= 2 and toks[1].v == "(" and match_paren(toks, 1) == #toks then
      table.remove(toks, #toks)
      table.remove(toks, 1)
      changed = true
    end
    for i = 1, #toks - 2 do
      local prev = toks[i - 1]
      local call = prev and (prev.t == "id" or prev.t == "qid")
      if toks[i].v == "(" and toks[i].t == "op" and not call then
        if toks[i + 2] and toks[i + 2].v == ")" and toks[i + 1].t ~= "op" then
          table.remove(toks, i + 2)
          table.remove(toks, i)
          changed = true
          break
        end
        if toks[i + 1].v == "(" then
          local j = match_paren(toks, i + 1)
          if j and toks[j + 1] and toks[j + 1].v == ")" then
            table.remove(toks, j + 1)
            table.remove(toks, i)
            changed = true
            break
          end
        end
      end
    end
    if not changed then
      for i = 1, #toks do
        if is_operand_group(toks, i) then
          table.remove(toks, match_paren(toks, i))
          table.remove(toks, i)
          changed = true
          break
        end
      end
    end
    for i = 1, #toks - 1 do
      local prev = toks[i - 1]
      if toks[i].v == "-" and toks[i + 1].t == "num" and (not prev or prev.t == "op" and prev.v ~= ")") then
        toks[i + 1] = { t = "num", v = "-" .. toks[i + 1].v }
        table.remove(toks, i)
        changed = true
        break
      end
    end
  end
  return toks
end

-- Functions and keywords that mean the same thing.
local EQUIV_CALLS = { now = "current_timestamp", transaction_timestamp = "current_timestamp" }

local function fold(toks)
  local out, i = {}, 1
  while i <= #toks do
    local tk = toks[i]
    if tk.t == "id" and EQUIV_CALLS[tk.v] and toks[i + 1] and toks[i + 1].v == "("
       and toks[i + 2] and toks[i + 2].v == ")" then
      out[#out + 1] = { t = "id", v = EQUIV_CALLS[tk.v] }
      i = i + 3
    elseif tk.t == "str" and tk.v:match("^'%-?%d+%.?%d*'$") then
      -- '1.5' and 1.5 give the same value to a column of either type
      out[#out + 1] = { t = "num", v = tk.v:sub(2, -2) }
      i = i + 1
    elseif tk.t == "qid" and tk.v:match('^"[%l_][%l%d_]*"$') then
      out[#out + 1] = { t = "id", v = tk.v:sub(2, -2) }
      i = i + 1
    else
      out[#out + 1] = tk
      i = i + 1
    end
  end
  return out
end

local function join(toks)
  local parts = {}
  for i, tk in ipairs(toks) do parts[i] = tk.v end
  return table.concat(parts, " ")
end

-- The canonical text of a SQL expression (nil for nil).
function M.sql_norm(s)
  if s == nil then return nil end
  return join(simplify(fold(drop_casts(tokenize(s)))))
end

local SIMPLE_WORDS = { ["true"] = true, ["false"] = true, null = true,
                       current_timestamp = true, current_date = true, current_time = true,
                       localtimestamp = true, localtime = true }

-- true when the canonical expression n is a literal or a known keyword, so
-- a difference is a real change rather than two spellings of one thing.
function M.is_simple(n)
  if n == nil then return true end
  local toks = tokenize(n)
  if #toks == 2 and toks[1].v == "-" and toks[2].t == "num" then return true end
  if #toks ~= 1 then return false end
  local tk = toks[1]
  return tk.t == "str" or tk.t == "num" or (tk.t == "id" and SIMPLE_WORDS[tk.v] == true)
end

-- ---------- types ----------

local PG_ALIASES = {
  int = "integer", int4 = "integer", integer = "integer", serial = "integer", serial4 = "integer",
  int8 = "bigint", bigserial = "bigint", serial8 = "bigint",
  int2 = "smallint", smallserial = "smallint", serial2 = "smallint",
  bool = "boolean", float8 = "double precision", float = "double precision",
  float4 = "real", decimal = "numeric", varchar = "character varying",
  char = "character", bpchar = "character", timestamptz = "timestamp with time zone",
  timetz = "time with time zone",
}

local SERIALS = { serial = true, serial4 = true, bigserial = true, serial8 = true,
                  smallserial = true, serial2 = true }

local function squash(t)
  t = t:lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  t = t:gsub(" ?%( ?", "("):gsub(" ?%) ?", ") "):gsub(" ?, ?", ","):gsub(" $", "")
  t = t:gsub("%) %[", ")[")
  return t
end

-- The canonical spelling of a backend type string for dialect, and
-- whether it is a serial pseudo-type (PostgreSQL).
function M.type_norm(dialect, t)
  t = squash(t)
  if dialect ~= "postgresql" then return t, false end
  local base, args, rest = t:match("^([%a_ ]-)(%b())(.*)$")
  if not base then
    local b, arr = t:match("^([%a%d_ ]-)%s*(%[?%]?)$")
    if not b then return t, false end
    base, args, rest = b, "", arr
  end
  local arr = ""
  if rest:match("%[%]$") then arr = "[]"; rest = rest:gsub("%[%]$", "") end
  if args == "[]" then arr = "[]"; args = "" end
  base = base:gsub(" $", "")
  rest = rest:gsub("^ ", "")
  local serial = SERIALS[base] == true
  if base == "timestamptz" then base, rest = "timestamp", "with time zone" end
  if base == "timetz" then base, rest = "time", "with time zone" end
  if (base == "timestamp" or base == "time") and rest == "" then rest = "without time zone" end
  if base == "timestamp with time zone" or base == "timestamp without time zone"
     or base == "time with time zone" or base == "time without time zone" then
    base, rest = base:match("^(%a+) (.*)$")
  end
  base = PG_ALIASES[base] or base
  if base == "character" and args == "" then args = "(1)" end
  local out = base .. args
  if rest ~= "" then out = out .. " " .. rest end
  return out .. arr, serial
end

-- The backend spelling of a declared type (portable types mapped as op
-- maps them; anything else unchanged).
function M.map_type(dialect, t, colname)
  if core and core.map_type then return core.map_type(dialect, t, colname) end
  return t
end

local PORTABLE = { "integer", "bigint", "smallint", "text", "boolean", "float", "date",
                   "timestamp", "timestamptz", "uuid", "json", "bytes", "string" }

-- A portable spelling of a reflected type when one maps back to exactly
-- the same canonical type on dialect ("character varying(255)" ->
-- "string(255)"); else the reflected type itself.
function M.portable(dialect, t)
  local want = M.type_norm(dialect, t)
  local args = want:match("^[^(]*(%(.-%))") or ""
  local cands = {}
  for _, p in ipairs(PORTABLE) do cands[#cands + 1] = p end
  if args ~= "" then
    cands[#cands + 1] = "string" .. args
    cands[#cands + 1] = "numeric" .. args
    cands[#cands + 1] = "timestamp" .. args
    cands[#cands + 1] = "timestamptz" .. args
  else
    cands[#cands + 1] = "numeric"
  end
  for _, p in ipairs(cands) do
    local ok, mapped = pcall(M.map_type, dialect, p)
    if ok and mapped ~= p and M.type_norm(dialect, mapped) == want then
      -- on SQLite timestamp and timestamptz are both DATETIME: keep the text
      if dialect == "sqlite" and (p:match("^timestamp") or p == "uuid") then return t end
      -- SQLite keeps a declared type as written: only a portable type
      -- that renders back to exactly that text round-trips
      -- (a declared "Numeric(10,2)" stays as written)
      if dialect == "sqlite" and mapped ~= t then return t end
      return p
    end
  end
  return t
end

-- ---------- the model ----------

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end
M.copy = copy

-- The key of table name in schema sch for model m.
function M.key(m, sch, name)
  if sch == nil or sch == m.default_schema then return name end
  return sch .. "." .. name
end

local function norm_action(a)
  if a == nil then return nil end
  a = a:upper():gsub("_", " ")
  if a == "NO ACTION" then return nil end
  return a
end

-- The normalised copy of model m (see the header).
function M.normalize(m)
  local out = copy(m)
  local d = out.dialect
  out.schemas = out.schemas or {}
  out.tables = out.tables or {}
  for _, t in pairs(out.tables) do
    t.columns = t.columns or {}
    t.uniques = t.uniques or {}
    t.indexes = t.indexes or {}
    t.foreign_keys = t.foreign_keys or {}
    t.checks = t.checks or {}
    if t.schema == out.default_schema then t.schema = nil end
    local pkset = {}
    if t.primary_key then for _, c in ipairs(t.primary_key.columns) do pkset[c] = true end end
    for _, c in ipairs(t.columns) do
      local ok, mapped = pcall(M.map_type, d, c.type, c.name)
      local ntype, serial = M.type_norm(d, ok and mapped or c.type)
      c.nullable = c.nullable ~= false
      if pkset[c.name] then c.nullable = false end
      c.autoincrement = c.autoincrement == true or serial
      local def = c.server_default
      if def and d == "postgresql" and def:match("^%s*nextval%(") and
         (ntype == "integer" or ntype == "bigint" or ntype == "smallint") then
        c.autoincrement = true
        def = nil
      end
      if c.autoincrement and d == "sqlite" then ntype = "integer" end
      c.ntype = ntype
      c.ndefault = M.sql_norm(def)
      if c.ndefault == "null" then c.ndefault = nil end
    end
    for _, ix in ipairs(t.indexes) do
      ix.unique = ix.unique == true
      ix.nwhere = M.sql_norm(ix.where)
      ix.ncols = {}
      for i, c in ipairs(ix.columns) do
        if type(c) == "table" then
          local n = M.sql_norm(c.expr)
          -- an expression that is just a column name is that column
          ix.ncols[i] = n:match("^[%l_][%l%d_]*$") and n or ("(" .. n .. ")")
        else
          ix.ncols[i] = c
        end
      end
    end
    for _, fk in ipairs(t.foreign_keys) do
      fk.on_delete = norm_action(fk.on_delete)
      fk.on_update = norm_action(fk.on_update)
      if fk.ref_schema == out.default_schema then fk.ref_schema = nil end
      fk.ref_key = fk.ref_schema and (fk.ref_schema .. "." .. fk.ref_table) or fk.ref_table
    end
    for _, ck in ipairs(t.checks) do ck.nsql = M.sql_norm(ck.sql) end
  end
  return out
end

return M
