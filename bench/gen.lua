-- bench/gen.lua: write a project of N chained revisions for the benchmark.
--
--   lua5.4 bench/gen.lua DIR N
--
-- DIR/lmigrate.lua (url sqlite:bench.db, script_location versions) and
-- DIR/versions/<rev>_t_<i>.lua, each creating table t_<i>; revision i's
-- down_revision is revision i-1, ids are the 12-hex-digit form of i.
local dir, n = arg[1], tonumber(arg[2])
if not dir or not n then
  io.stderr:write("usage: lua5.4 bench/gen.lua DIR N\n")
  os.exit(2)
end
assert(os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "/versions'"))

local function write(path, text)
  local f = assert(io.open(path, "w"))
  assert(f:write(text))
  assert(f:close())
end

write(dir .. "/lmigrate.lua",
  'return { url = "sqlite:bench.db", script_location = "versions" }\n')

local function rev(i) return ("%012x"):format(i) end

for i = 1, n do
  local down = i == 1 and "nil" or ('"' .. rev(i - 1) .. '"')
  write(("%s/versions/%s_t_%d.lua"):format(dir, rev(i), i), ([[
-- create t_%d
return {
  revision      = "%s",
  down_revision = %s,
  message       = "create t_%d",
  create_date   = "2026-01-01 00:00:00",

  upgrade = function(op)
    op.create_table("t_%d", {"id", "integer", primary_key = true}, {"name", "string(50)"})
  end,

  downgrade = function(op)
    op.drop_table("t_%d")
  end,
}
]]):format(i, rev(i), down, i, i, i))
end
