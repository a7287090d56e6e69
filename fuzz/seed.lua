-- fuzz/seed.lua: (re)build the seed corpora under fuzz/corpus/<harness>/
-- from the specs, the docs and the example project. Run from the
-- repository root: lua5.4 fuzz/seed.lua. Files are named by content
-- (a short hash), so running it again adds only new seeds.
local function slurp(p) local f = io.open(p, "rb"); if not f then return nil end
  local s = f:read("a"); f:close(); return s end
local function lines(cmd) local t, p = {}, io.popen(cmd)
  for l in p:lines() do t[#t + 1] = l end p:close() return t end
local function hash(s) local h = 5381
  for i = 1, #s do h = (h * 33 + s:byte(i)) % 4294967296 end
  return string.format("seed-%08x", h) end
local function put(name, s)
  os.execute("mkdir -p fuzz/corpus/" .. name)
  local f = assert(io.open("fuzz/corpus/" .. name .. "/" .. hash(s), "wb"))
  f:write(s) f:close() end
local function unlua(s)    -- undo the escapes of a Lua "..." literal
  return (s:gsub("\\n", "\n"):gsub("\\t", "\t"):gsub('\\"', '"'):gsub("\\\\", "\\")) end

local specs, docs = lines("ls spec/unit/*.lua spec/integration/*.lua"),
  lines("ls docs/*.md README.md")
local all = {}
for _, p in ipairs(specs) do all[#all + 1] = slurp(p) end
for _, p in ipairs(docs) do all[#all + 1] = slurp(p) end
local text = table.concat(all, "\n")

-- url: every URL-looking string literal
for u in text:gmatch('"(postgres[^"]*)"') do put("fuzz_url", unlua(u)) end
for u in text:gmatch('"(sqlite:[^"]*)"') do put("fuzz_url", unlua(u)) end
put("fuzz_url", "postgresql://u:secret@h/db?password=x\nFATAL: password authentication failed for postgresql://u:secret@h/db")

-- SQL: literals and long strings that start with a statement keyword
local kw = { "CREATE", "create", "SELECT", "select", "INSERT", "insert",
  "UPDATE", "update", "DELETE", "delete", "ALTER", "alter", "DO", "WITH" }
for _, s in ipairs(all) do
  for q in s:gmatch('"([^"\n]*)"') do
    for _, k in ipairs(kw) do
      if q:sub(1, #k + 1) == k .. " " then
        local sql = unlua(q)
        put("fuzz_pg_scan", sql)
        if k:upper() == "CREATE" and sql:upper():find("^CREATE TABLE") then
          put("fuzz_sqlite_ddl", sql) end
      end
    end
  end
  for _, q in s:gmatch("%[(=*)%[(.-)%]%1%]") do
    if q:upper():find("^%s*CREATE TABLE") then put("fuzz_sqlite_ddl", q) end
    if q:upper():find("^%s*[A-Z]") and #q < 4000 then put("fuzz_pg_scan", q) end
  end
end

-- revision files: the example project, the template, revisions in docs
for _, p in ipairs(lines("ls versions/*.lua")) do put("fuzz_revision", slurp(p)) end
for _, s in ipairs(all) do
  for b in s:gmatch("```lua\n(.-)```") do
    if b:find("revision%s*=") then put("fuzz_revision", b) end
    if b:find("script_location") or b:find("version_locations") or
       b:find("hooks") then put("fuzz_config", b) end
  end
end

-- config files
put("fuzz_config", slurp("lmigrate.lua"))
for _, p in ipairs(lines("ls templates/*/lmigrate.lua")) do
  put("fuzz_config", slurp(p)) end

-- graph: a chain, a branch with labels and a merge, with targets
put("fuzz_graph", "a - - -\nb a - -\nc b - -\n\nhead\nheads\nbase\n+1\n-1\nb\nc-1\na+2\n:b\na:\nb:c\n")
put("fuzz_graph", "a - - -\nb a - feat\nc a - main\nd b,c - -\ne - d -\n\n=b\nfeat@head\nfeat@+1\nmain@base\nfeat@-1\nmain@base+1\nfeat@c\nheads\nd\nbase:head\n-2\ne\n")
put("fuzz_graph", "a1 - - x\na2 a1 - -\nb1 - - y\nb2 b1 a2 -\n\n=heads\nx@head\ny@head\nb2-1\nx@a2\ncurrent\ncurrent:heads\n:current\n")

-- config: every key the loader reads, and the -x table
put("fuzz_config", [[
local x = ...
return {
  url = x.db or "sqlite:app.db",
  version_locations = { "versions", "more" },
  version_table = "my_version", version_table_schema = "public",
  transaction_per_migration = false,
  lock_timeout = 1.5, ddl_lock_timeout = 0, statement_timeout = 30,
  lock_retries = 2, revision_template = "tmpl.lua",
  hooks = {
    before_upgrade = function(ctx) end, after_upgrade = function(ctx) end,
    before_revision = function(ctx) end, after_revision = function(ctx) end,
    on_error = function(ctx) end,
  },
}
]])
put("fuzz_config", 'return { script_location = "versions", url = "postgresql://u:p@h/db" }\n')
put("fuzz_config", 'local x = ... if x.env == "test" then return { url = "sqlite::memory:" } end\nreturn {}\n')
put("fuzz_config", 'return { script_location = "versions", version_locations = { "v" } }\n')
put("fuzz_config", 'return { hooks = { on_eror = function() end } }\n')
