-- spec/integration/config_spec.lua: the config file (-c, errors, keys), URL
-- precedence, -x values, and that passwords are never printed.

local h = require "helpers"

local rev = h.rev

-- A revision that creates table t_<id> and drops it on downgrade.
local function trev(id, down, extra)
  local r = { id = id, down = down,
    up = ('op.create_table("t_%s", {"id", "integer", primary_key = true})'):format(id),
    dn = ('op.drop_table("t_%s")'):format(id) }
  for k, v in pairs(extra or {}) do r[k] = v end
  return rev(r)
end

local setup = h.setup
local run = h.run_in

-- The t_* tables of db, sorted (what the trev revisions created).
local function ttables(url)
  local t = {}
  for _, name in ipairs(h.tables(url)) do
    if name:match("^t_") then t[#t + 1] = name end
  end
  return t
end

local history = h.history

-- Lines of s as a list (no trailing empty line).
local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- A revision that records op.x.tenant (or "none") into table xval.
local xrev = rev { id = "aaa111",
  up = 'op.create_table("xval", {"v", "text"}) ' ..
       'op.execute("INSERT INTO xval (v) VALUES ($1)", { op.x.tenant or "none" })',
  dn = 'op.drop_table("xval")' }

for _, backend in ipairs(h.each_backend()) do
  describe("config [" .. backend .. "] #integration #" .. backend, function()
    it("-c FILE reads another config file", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111", nil) }, { config = "return 1\n" })
      -- script_location is relative to the config file's directory
      h.write(dir .. "/conf/other.lua", ("return { url = %q, version_table = \"vt\", " ..
        "script_location = \"../versions\" }\n"):format(url))
      local r = run(dir, "-c conf/other.lua upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111", "vt")
      assert.has_table(url, "vt_history")
      assert.has_no_table(url, "lmigrate_version")
      r = run(dir, "--config=conf/other.lua current")
      assert.equal(0, r.code, r.err)
      assert.matches("aaa111", r.out)
    end)

    it("a missing -c file is an error", function()
      local dir = setup(backend, {})
      local r = run(dir, "-c nope.lua heads")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: config file 'nope.lua' not found (-c)\n", r.err)
    end)

    it("a config that does not return a table is an error", function()
      local dir = setup(backend, {}, { config = "return 'sqlite:x.db'\n" })
      local r = run(dir, "heads")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: lmigrate.lua must return a table (got string)\n", r.err)
    end)

    it("a config with a syntax error names file:line", function()
      local dir = setup(backend, {}, { config = "return {\n  url = \n}\n" })
      local r = run(dir, "heads")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: lmigrate.lua:3: ", r.err)
    end)

    it("an unknown key is an error with a suggestion", function()
      local dir = setup(backend, {}, { config =
        'return { url = "sqlite:x.db", scrip_location = "versions" }\n' })
      local r = run(dir, "heads")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: lmigrate.lua: unknown key 'scrip_location' " ..
        "(did you mean 'script_location'?)\n", r.err)
    end)

    it("version_locations reads several directories", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111", nil) }, { config =
        ("return { url = %q, version_locations = { \"versions\", \"more\" } }\n"):format(url) })
      local b = trev("bbb222", "aaa111")
      h.write(dir .. "/more/" .. b.file, b.text)
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222")
      r = run(dir, "show bbb222")
      assert.matches("Path: more/bbb222_rev.lua", r.out, 1, true)
    end)

    it("-x KEY=VALUE reaches revisions as op.x.KEY", function()
      local dir, url = setup(backend, { xrev })
      local r = run(dir, { "-x", "tenant=acme=1", "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      assert.same({ { "acme=1" } }, h.query(url, "SELECT v FROM xval"))
    end)

    it("without -x, op.x is an empty table", function()
      local dir, url = setup(backend, { xrev })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.same({ { "none" } }, h.query(url, "SELECT v FROM xval"))
    end)

    it("-x values reach the config chunk as its first argument", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111", nil) }, { config =
        'local x = ...\nreturn { url = x.db, version_table = x.vt or "lmigrate_version" }\n' })
      local r = run(dir, { "-x", "db=" .. url, "-x", "vt=custom_v", "upgrade", "head" })
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111", "custom_v")
    end)

    it("a malformed -x is a usage error", function()
      local dir = setup(backend, {})
      local r = run(dir, "-x novalue heads")
      assert.equal(2, r.code)
      assert.equal("lmigrate: error: -x expects KEY=VALUE, got 'novalue'\n", r.err)
      r = run(dir, "-x =v heads")
      assert.equal(2, r.code)
    end)

    it("version_locations naming a directory twice is an error", function()
      for _, locs in ipairs({ '{ "versions", "versions" }', '{ "versions", "./versions/" }' }) do
        local dir = h.tmpdir()
        local url = h.db_url(backend, dir)
        h.project(dir, { trev("aaa111", nil) }, { config =
          ("return { url = %q, version_locations = %s }\n"):format(url, locs) })
        local r = run(dir, "upgrade head")
        assert.equal(1, r.code, r.err)
        local again = locs:match('"(%./versions/)"')
        assert.equal("lmigrate: error: lmigrate.lua: version_locations lists 'versions' twice" ..
          (again and (" (also as '" .. again .. "')") or "") .. "\n", r.err)
        assert.is_nil(r.err:find("duplicate revision id", 1, true))
        assert.same({}, h.tables(url))
      end
    end)

    -- <version_table>_history must fit PostgreSQL's 63-byte names, or the
    -- two tables would be cut to the same name.
    it("version_table must be 1 to 55 bytes without NUL", function()
      local why = "lmigrate adds '_history' for the history table, and PostgreSQL cuts names at 63 bytes"
      local cases = {
        { '""', "'version_table' must be 1 to 55 bytes long (got 0): " .. why },
        { ("%q"):format(("v"):rep(56)), "'version_table' must be 1 to 55 bytes long (got 56): " .. why },
        { '"a\\0b"', "'version_table' must not contain a NUL byte" },
        { "7", "'version_table' must be a string (got number)" },
        { '"x", version_table_schema = ""',
          "'version_table_schema' must be 1 to 63 bytes long (got 0): PostgreSQL's limit on names" },
        { ('"x", version_table_schema = %q'):format(("s"):rep(64)),
          "'version_table_schema' must be 1 to 63 bytes long (got 64): PostgreSQL's limit on names" },
      }
      for _, c in ipairs(cases) do
        local dir = h.tmpdir()
        local url = h.db_url(backend, dir)
        h.project(dir, { trev("aaa111", nil) }, { config =
          ("return { url = %q, version_table = %s }\n"):format(url, c[1]) })
        local r = run(dir, "upgrade head")
        assert.equal(1, r.code, r.err)
        assert.equal("lmigrate: error: lmigrate.lua: " .. c[2] .. "\n", r.err)
        assert.same({}, h.tables(url))
      end
    end)

    it("a 55-byte version_table keeps its history table apart", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      local vt = ("v"):rep(55)
      h.project(dir, { trev("aaa111", nil), trev("bbb222", "aaa111") }, { config =
        ("return { url = %q, version_table = %q }\n"):format(url, vt) })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "bbb222", vt)
      assert.has_table(url, vt .. "_history")
      assert.same({ { "2" } }, h.query(url, ('SELECT count(*) FROM "%s_history"'):format(vt)))
      r = run(dir, "downgrade base")
      assert.equal(0, r.code, r.err)
      assert.same({}, ttables(url))
    end)

    -- The config table and hooks are data: a metatable on them is never
    -- consulted, so it cannot raise outside the protected call (a Lua
    -- panic, exit 134, before).
    local meta = "setmetatable(%s, { __index = function() error('meta') end, " ..
                 "__len = function() error('len') end })"

    it("a config table whose metatable raises is read as plain data", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111", nil) }, { config = "return " ..
        meta:format(("{ url = %q, version_locations = %s }"):format(url, meta:format('{ "versions" }'))) .. "\n" })
      local r = run(dir, "heads")
      assert.equal(0, r.code, r.err)
      assert.matches("aaa111 (head)", r.out, 1, true)
      r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.version_is(url, "aaa111")
    end)

    it("a hooks table whose metatable raises: its own hooks run, nothing else", function()
      local dir = h.tmpdir()
      local url = h.db_url(backend, dir)
      h.project(dir, { trev("aaa111", nil) }, { config = ("return { url = %q, hooks = %s }\n"):format(url,
        meta:format("{ after_upgrade = function(ctx) print('hook ' .. ctx.hook) end }")) })
      local r = run(dir, "upgrade head")
      assert.equal(0, r.code, r.err)
      assert.matches("hook after_upgrade", r.out, 1, true)
      assert.version_is(url, "aaa111")
      r = run(dir, "downgrade base")
      assert.equal(0, r.code, r.err)
    end)

    it("a hook of the wrong type in a hooks table is still an error", function()
      local dir = setup(backend, {}, { config =
        'return { hooks = { before_upgrade = 1 } }\n' })
      local r = run(dir, "heads")
      assert.equal(1, r.code)
      assert.equal("lmigrate: error: lmigrate.lua: hook 'before_upgrade' must be a function\n", r.err)
    end)

    it("no URL anywhere is a clear error", function()
      local dir = setup(backend, {}, { config = "return { }\n" })
      local r = run(dir, "current")
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: no database URL", r.err)
    end)

    it("a version_table_schema that does not exist is an error naming the fix", function()
      local dir, url = setup(backend, { trev("aaa111", nil) })
      h.write(dir .. "/lmigrate.lua", ("return { url = %q, version_table_schema = " ..
        "\"nosuch\" }\n"):format(url))
      local r = run(dir, "upgrade head")
      assert.equal(1, r.code)
      if backend == "sqlite" then
        assert.matches("^lmigrate: error: no such table: nosuch.sqlite_master .*; " ..
          "version_table_schema 'nosuch' is not an attached database: on SQLite " ..
          "version_table_schema names an ATTACHed database; leave it unset\n$", r.err)
      else
        assert.matches('^lmigrate: error: schema "nosuch" does not exist .*; ' ..
          "version_table_schema 'nosuch' does not exist: create it %(CREATE SCHEMA " ..
          "nosuch%) or change version_table_schema in lmigrate.lua\n$", r.err)
      end
      assert.same({}, ttables(url))
      r = run(dir, "stamp head")
      assert.equal(1, r.code)
      assert.matches("version_table_schema 'nosuch'", r.err, 1, true)
    end)
  end)
end

describe("a role that cannot create the version tables #integration #postgres", function()
  local enabled = false
  for _, b in ipairs(h.each_backend()) do enabled = enabled or b == "postgres" end
  if not enabled then return end

  it("is an error naming the GRANT that fixes it", function()
    local dir, url = setup("postgres", { trev("aaa111", nil) })
    local role = ("lm_weak_%d"):format(math.random(1, 1e9))
    h.psql(url, ("CREATE ROLE %s LOGIN; REVOKE ALL ON SCHEMA public FROM PUBLIC"):format(role))
    finally(function()
      h.psql(url, "DROP OWNED BY " .. role)
      h.psql(url, "DROP ROLE " .. role)
    end)
    local weak = url:gsub("^(postgres[ql]*://)[^@/]*@", "%1")
    weak = weak:gsub("^(postgres[ql]*://)", "%1" .. role .. "@")
    local hint = "the role cannot create tables in schema public"
    local grant = "GRANT CREATE ON SCHEMA public TO <role>, or set version_table_schema"
    -- no USAGE on public either: no schema to create in
    local r = run(dir, { "-u", weak, "upgrade", "head" })
    assert.equal(1, r.code)
    assert.matches("^lmigrate: error: no schema has been selected to create in", r.err)
    assert.matches(hint, r.err, 1, true)
    assert.matches(grant, r.err, 1, true)
    -- USAGE but no CREATE
    h.psql(url, "GRANT USAGE ON SCHEMA public TO " .. role)
    r = run(dir, { "-u", weak, "upgrade", "head" })
    assert.equal(1, r.code)
    assert.matches("^lmigrate: error: permission denied for schema public", r.err)
    assert.matches(hint .. ": " .. grant, r.err, 1, true)
    -- the fix works
    h.psql(url, "GRANT CREATE ON SCHEMA public TO " .. role)
    r = run(dir, { "-u", weak, "upgrade", "head" })
    assert.equal(0, r.code, r.err)
    assert.version_is(url, "aaa111")
  end)
end)

describe("URL precedence #integration #sqlite", function()
  local function which(env, args)
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config =
      'return { url = "sqlite:cfg.db" }\n' })
    local r = run(dir, (args or "") .. " upgrade head", { env = env })
    assert.equal(0, r.code, r.err)
    local made = {}
    for _, f in ipairs({ "cli", "lm", "dburl", "cfg" }) do
      if h.exists(dir .. "/" .. f .. ".db") then made[#made + 1] = f end
    end
    return table.concat(made, ",")
  end

  it("--url beats LMIGRATE_URL, DATABASE_URL and the config", function()
    assert.equal("cli", which({ LMIGRATE_URL = "sqlite:lm.db", DATABASE_URL = "sqlite:dburl.db" },
      "--url sqlite:cli.db"))
    assert.equal("cli", which({}, "-u sqlite:cli.db"))
  end)

  it("LMIGRATE_URL beats DATABASE_URL and the config", function()
    assert.equal("lm", which({ LMIGRATE_URL = "sqlite:lm.db", DATABASE_URL = "sqlite:dburl.db" }))
  end)

  it("DATABASE_URL beats the config", function()
    assert.equal("dburl", which({ DATABASE_URL = "sqlite:dburl.db" }))
  end)

  it("the config's url comes last", function()
    assert.equal("cfg", which({}))
  end)

  it("an empty environment variable does not count", function()
    assert.equal("cfg", which({ LMIGRATE_URL = "", DATABASE_URL = "" }))
  end)

  it("SQLAlchemy spellings of SQLite URLs", function()
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
    local r = run(dir, "--url sqlite:///rel.db upgrade head")
    assert.equal(0, r.code, r.err)
    assert.version_is(dir .. "/rel.db", "aaa111")
    r = run(dir, { "--url", "sqlite:///" .. dir .. "/abs.db", "upgrade", "head" })
    assert.equal(0, r.code, r.err)
    assert.version_is(dir .. "/abs.db", "aaa111")
  end)

  it("an unsupported URL scheme is an error", function()
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
    local r = run(dir, "--url mysql://u@h/db upgrade head")
    assert.equal(1, r.code)
    assert.matches("^lmigrate: error: .*mysql", r.err)
  end)
end)

describe("passwords #integration #sqlite", function()
  it("are never printed, even when connecting fails", function()
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
    local url = "postgresql://alice:s3cretpw@127.0.0.1:1/appdb?connect_timeout=2"
    for _, args in ipairs({ { "--url", url, "upgrade", "head" },
                            { "-v", "--url", url, "current" } }) do
      local r = run(dir, args, { timeout = 30 })
      assert.equal(1, r.code, r.err)
      -- (-v may print debug lines first)
      assert.matches("lmigrate: error: ", r.err, 1, true)
      assert.matches("***", r.err, 1, true)
      assert.not_matches("s3cretpw", r.err, 1, true)
      assert.not_matches("s3cretpw", r.out, 1, true)
    end
  end)

  -- libpq quotes a URI it cannot parse in its message ("... in URI:
  -- \"postgresql://u:s3cret@[bad\""): the password is masked there too,
  -- whichever way the URL came in.
  local malformed = {
    "postgres://u:s3cretpw@[bad",
    "postgresql://u:s3cretpw@[]/db",
    "postgresql://u:s3cretpw@[::1]x/db",
    "postgresql://u:s3cr%65tpw@[::1]x/db",
    "postgresql://[::1]x/db?password=s3cretpw",
  }
  for _, url in ipairs(malformed) do
    it("are not printed when libpq rejects the URI " .. url, function()
      local dir = h.tmpdir()
      h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
      h.write(dir .. "/other.lua", ("return { url = %q }\n"):format(url))
      for _, how in ipairs({ { args = { "-u", url, "current" } },
                             { args = { "current" }, env = { LMIGRATE_URL = url } },
                             { args = { "-c", "other.lua", "current" } } }) do
        local r = run(dir, how.args, { env = how.env, timeout = 30 })
        assert.equal(1, r.code, r.err)
        assert.matches("^lmigrate: error: cannot connect to postgresql://", r.err)
        assert.matches("***", r.err, 1, true)
        assert.not_matches("s3cr", r.err .. r.out, 1, true)
      end
    end)
  end

  -- Not quite URLs: the text is echoed with any user:password@ masked.
  for _, url in ipairs({ "postgresql//u:Hunter2pw@h/db", "postgresql:/u:Hunter2pw@h/db",
                         "u:Hunter2pw@localhost/db" }) do
    it("are not printed from a malformed URL " .. url, function()
      local dir = h.tmpdir()
      h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
      local r = run(dir, { "-u", url, "current" })
      assert.equal(1, r.code)
      assert.matches("^lmigrate: error: unsupported database URL '" ..
        url:gsub("Hunter2pw", "***"):gsub("%p", "%%%0") .. "'; expected ", r.err)
      assert.not_matches("Hunter2pw", r.err .. r.out, 1, true)
    end)
  end

  -- libpq ends the password at the first '@', lmigrate's masking at the
  -- last: such a URL would show the rest of the password as a host name.
  it("a raw '@' in the password is refused, asking for %40", function()
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
    local r = run(dir, { "-u", "postgresql://u:pa@ss@127.0.0.1:1/db", "current" })
    assert.equal(1, r.code)
    assert.equal("lmigrate: error: database URL 'postgresql://u:***@127.0.0.1:1/db' has more " ..
      "than one '@'; percent-encode an '@' in the password as %40\n", r.err)
    r = run(dir, { "-u", "postgresql://u:pa/ss@127.0.0.1:1/db", "current" })
    assert.equal(1, r.code)
    assert.equal("lmigrate: error: database URL 'postgresql://u:***@127.0.0.1:1/db' has a '/' " ..
      "before its '@'; percent-encode a '/' in the password as %2F (and an '@' elsewhere as %40)\n",
      r.err)
  end)

  it("are not printed from LMIGRATE_URL either", function()
    local dir = h.tmpdir()
    h.project(dir, { trev("aaa111", nil) }, { config = "return {}\n" })
    local r = run(dir, "upgrade head", { timeout = 30, env = {
      LMIGRATE_URL = "postgres://bob:hunter2x@127.0.0.1:1/appdb" } })
    assert.equal(1, r.code)
    assert.matches("***", r.err, 1, true)
    assert.not_matches("hunter2x", r.err .. r.out, 1, true)
  end)
end)
