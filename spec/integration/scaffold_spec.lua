-- spec/integration/scaffold_spec.lua: `lmigrate init`, `revision` and
-- `merge`: the files they write, the refusals, exit statuses, and that the
-- generated revisions load and run.

local h = require "helpers"

local function ls(dir)
  local p = io.popen("ls " .. h.quote(dir) .. " 2>/dev/null")
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

-- The single file in dir/versions whose name contains pat.
local function find_rev(dir, pat)
  for _, f in ipairs(ls(dir .. "/versions")) do
    if f:find(pat, 1, true) then return dir .. "/versions/" .. f, f end
  end
end

local function load_rev(path)
  return assert(loadfile(path, "t", {}))()
end

describe("init #integration", function()
  it("writes lmigrate.lua and versions/ and refuses to overwrite", function()
    local d = h.tmpdir()
    local r = h.run({ "init" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    assert.matches("Generating lmigrate.lua ... done", r.out, 1, true)
    assert.truthy(h.exists(d .. "/lmigrate.lua"))
    assert.truthy(h.exists(d .. "/versions"))
    local cfg = assert(loadfile(d .. "/lmigrate.lua"))({})
    assert.equal("versions", cfg.script_location)

    h.write(d .. "/lmigrate.lua", "-- mine\n")
    r = h.run({ "init" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("lmigrate.lua already exists in .; remove it or choose "
                   .. "another directory", r.err, 1, true)
    assert.equal("-- mine\n", h.read(d .. "/lmigrate.lua"))
  end)

  it("creates DIR and uses --template", function()
    local d = h.tmpdir()
    local r = h.run({ "init", "app/db", "--template", "postgresql" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    local text = h.read(d .. "/app/db/lmigrate.lua")
    assert.matches("postgresql://", text, 1, true)
    assert.truthy(h.exists(d .. "/app/db/versions"))
  end)

  it("lists the templates for an unknown one (exit 2)", function()
    local d = h.tmpdir()
    local r = h.run({ "init", "--template", "nope" }, { cwd = d })
    assert.equal(2, r.code)
    assert.matches("unknown template 'nope'; available templates: generic, "
                   .. "postgresql", r.err, 1, true)
    assert.falsy(h.exists(d .. "/lmigrate.lua"))
  end)
end)

describe("revision #integration", function()
  local d
  before_each(function()
    d = h.tmpdir()
    h.project(d)
  end)

  it("writes a loadable revision chained to the head", function()
    local r = h.run({ "revision", "-m", "Create users table!" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    local path, file = find_rev(d, "_create_users_table.lua")
    assert.truthy(path, "no file")
    assert.matches("^%x%x%x%x%x%x%x%x%x%x%x%x_create_users_table%.lua$", file)
    assert.matches("Generating versions/" .. file .. " ... done", r.out, 1, true)
    local t = load_rev(path)
    assert.equal(file:sub(1, 12), t.revision)
    assert.is_nil(t.down_revision)
    assert.equal("Create users table!", t.message)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", t.create_date)
    assert.matches("^%-%- Create users table!\n", h.read(path))

    r = h.run({ "revision", "-m", "second", "--rev-id", "abc_2",
                "--depends-on", t.revision:sub(1, 6),
                "--branch-label", "core" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    local t2 = load_rev(d .. "/versions/abc_2_second.lua")
    assert.equal(t.revision, t2.down_revision)
    assert.same({ t.revision }, t2.depends_on)
    assert.same({ "core" }, t2.branch_labels)

    -- the generated files run
    r = h.run({ "upgrade", "head" }, { cwd = d })
    assert.equal(0, r.code, r.err)
  end)

  it("quotes awkward messages and slugs them", function()
    local msg = 'add "quoted" \\ thing\nline two'
    local r = h.run({ "revision", "-m", msg, "--rev-id", "q1" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    local t = load_rev(d .. "/versions/q1_add_quoted_thing_line_two.lua")
    assert.equal(msg, t.message)
  end)

  it("needs -m (exit 2) and refuses bad or taken ids", function()
    local r = h.run({ "revision" }, { cwd = d })
    assert.equal(2, r.code)
    for _, args in ipairs({ { "revision", "-m", "  " }, { "merge", "-m", "", "heads" } }) do
      r = h.run(args, { cwd = d })
      assert.equal(2, r.code)
      assert.matches("-m MSG must say what the revision does; it is empty", r.err, 1, true)
    end
    local p = io.popen("ls " .. h.quote(d .. "/versions"))
    assert.equal("", p:read("a"))   -- nothing written
    p:close()
    r = h.run({ "revision", "-m", "x", "--rev-id", "a-b" }, { cwd = d })
    assert.equal(2, r.code)
    assert.matches("invalid --rev-id: illegal character '-' in revision id 'a-b'", r.err, 1, true)
    r = h.run({ "revision", "-m", "x", "--rev-id", "head" }, { cwd = d })
    assert.equal(2, r.code)
    assert.matches("revision id 'head' is reserved", r.err, 1, true)
    r = h.run({ "revision", "-m", "x", "--branch-label", "base" }, { cwd = d })
    assert.equal(2, r.code)
    assert.matches("branch label 'base' is reserved", r.err, 1, true)
    assert.equal(0, h.run({ "revision", "-m", "x", "--rev-id", "r1" }, { cwd = d }).code)
    r = h.run({ "revision", "-m", "x", "--rev-id", "r1" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("revision r1 already exists", r.err, 1, true)
  end)

  it("asks for --head with several heads, then merge joins them", function()
    assert.equal(0, h.run({ "revision", "-m", "root", "--rev-id", "r0" }, { cwd = d }).code)
    assert.equal(0, h.run({ "revision", "-m", "a", "--rev-id", "ra" }, { cwd = d }).code)
    local r = h.run({ "revision", "-m", "b", "--rev-id", "rb", "--head", "r0" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("revision r0 is not a head; pass --splice", r.err, 1, true)
    r = h.run({ "revision", "-m", "b", "--rev-id", "rb", "--head", "r0",
                "--splice" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    r = h.run({ "revision", "-m", "c" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("2 heads (ra, rb)", r.err, 1, true)
    assert.matches("lmigrate merge", r.err, 1, true)

    r = h.run({ "merge", "-m", "join", "--rev-id", "rm", "heads" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    assert.same({ "ra", "rb" }, load_rev(d .. "/versions/rm_join.lua").down_revision)
    r = h.run({ "merge", "-m", "again", "heads" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("nothing to merge", r.err, 1, true)
    r = h.run({ "upgrade", "head" }, { cwd = d })
    assert.equal(0, r.code, r.err)
  end)

  it("--head base starts a new root; --version-path must be configured", function()
    assert.equal(0, h.run({ "revision", "-m", "one", "--rev-id", "o1" }, { cwd = d }).code)
    local r = h.run({ "revision", "-m", "two", "--rev-id", "o2", "--head", "base" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    assert.is_nil(load_rev(d .. "/versions/o2_two.lua").down_revision)
    r = h.run({ "revision", "-m", "x", "--head", "o1", "--version-path", "elsewhere" }, { cwd = d })
    assert.equal(1, r.code)
    assert.matches("configured: versions", r.err, 1, true)
  end)

  it("uses the project's revision_template", function()
    h.write(d .. "/my.tmpl", "-- ${comment}\nreturn { revision = ${revision}, "
            .. "down_revision = ${down_revision}, message = ${message}, "
            .. "upgrade = function(op) end, downgrade = function(op) end }\n")
    h.write(d .. "/lmigrate.lua", 'return { url = "sqlite:test.db", '
            .. 'revision_template = "my.tmpl" }\n')
    local r = h.run({ "revision", "-m", "custom", "--rev-id", "c1" }, { cwd = d })
    assert.equal(0, r.code, r.err)
    assert.matches("^%-%- custom\nreturn { revision = \"c1\"",
                   h.read(d .. "/versions/c1_custom.lua"))
  end)
end)
