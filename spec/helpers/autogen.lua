-- spec/helpers/autogen.lua: what the autogenerate integration specs
-- (spec/integration/autogen_*_spec.lua) share: a project with a declared
-- schema file, running the CLI in it, and the reflection of a database
-- through lmigrate.core (the C reflection the commands use).
--
--   A.project(backend [, opts]) -> dir, url   fresh project + database;
--                                   opts.config: extra config fields (Lua text)
--   A.schema(dir, text [, name])  write the schema file (default schema.lua)
--   A.run(dir, args)              h.run in dir
--   A.reflect(url)                the model table of the database
--   A.revisions(dir)              the revision files written, sorted by name

local h = require "helpers"

local core = require "lmigrate.core"

local A = {}

function A.project(backend, opts)
  opts = opts or {}
  local dir = h.tmpdir()
  local url = h.db_url(backend, dir)
  h.project(dir, {}, { config = ("return { url = %q, script_location = \"versions\",%s }\n")
    :format(url, opts.config or "") })
  return dir, url
end

function A.schema(dir, text, name)
  h.write(dir .. "/" .. (name or "schema.lua"), "local s = ...\n" .. text)
end

function A.run(dir, args, opts)
  opts = opts or {}
  opts.cwd = dir
  return h.run(args, opts)
end

function A.reflect(url)
  local c = core.connect(url)
  local m = c:reflect()
  c:close()
  return m
end

function A.revisions(dir)
  local p = io.popen("ls " .. h.quote(dir .. "/versions"))
  local t = {}
  for l in p:lines() do if l:match("%.lua$") then t[#t + 1] = l end end
  p:close()
  table.sort(t)
  return t
end

-- Lines of s as a list (no trailing empty line).
function A.lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

return A
