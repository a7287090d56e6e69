-- spec/integration/hardening_spec.lua: hostile input (issue 10). A NUL byte
-- in any string that reaches SQL, a name or a file name is refused with the
-- op and the revision's file:line instead of being silently cut; Ctrl-C and
-- SIGTERM cannot be caught by a revision's pcall; NUL bytes in ids, labels
-- and config strings are refused; every load error names the file; os.exit
-- in a revision or the config is an error; the revision cache is pruned.

local h = require "helpers"
local Q = h.quote

-- Lua source for the string s with every NUL written as \x00, so that
-- the revision file itself is plain text.
local function nul(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("%z", "\\x00") .. '"'
end

local base = h.rev({ id = "aaa111", up = [[
    op.create_table("t", { "id", "integer", primary_key = true }, { "v", "text" })
    op.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")]],
  dn = [[op.drop_table("t")]] })

for _, backend in ipairs(h.each_backend()) do
  describe("hardening [" .. backend .. "] #integration #" .. backend, function()
    local dir, url

    local function setup(revs, config)
      dir = h.tmpdir()
      url = h.db_url(backend, dir)
      h.project(dir, revs, { config = config or
        "return { script_location = \"versions\" }\n" })
    end

    local function run(args, env)
      env = env or {}
      env.LMIGRATE_URL = env.LMIGRATE_URL or url
      return h.run(args, { cwd = dir, env = env, timeout = 60 })
    end

    local function rows()
      return h.query(url, "SELECT id, v FROM t ORDER BY id")
    end

    describe("a NUL byte in a string that reaches SQL", function()
      -- { what, the upgrade body of revision bbb222, the message part }
      local cases = {
        { "op.execute", "op.execute(" .. nul("UPDATE t SET v = 'x'\0 WHERE id = 1") .. ")",
          "bad argument #1 to 'execute' (sql contains a NUL byte (at byte 21); " ..
          "everything after it would be lost: remove it)" },
        { "op.execute with parameters",
          "op.execute(" .. nul("UPDATE t SET v = $1\0 WHERE id = $2") .. ", { 'x', 1 })",
          "bad argument #1 to 'execute' (sql contains a NUL byte" },
        { "op.query", "op.query(" .. nul("SELECT 1\0; DELETE FROM t") .. ")",
          "bad argument #1 to 'query' (sql contains a NUL byte" },
        { "op.rows", "for r in op.rows(" .. nul("SELECT 1\0; DELETE FROM t") .. ") do end",
          "bad argument #1 to 'rows' (sql contains a NUL byte" },
        { "create_index where=", "op.create_index('ix_t_v', 't', { 'v' }, { where = " ..
          nul("v = 'a'\0 OR v IS NULL") .. " })",
          "bad argument #4 to 'create_index' (option 'where' contains a NUL byte" },
        { "a column's server_default", "op.add_column('t', { 'w', 'text', server_default = " ..
          nul("'x'\0junk") .. " })",
          "bad argument #2 to 'add_column' (option 'server_default' contains a NUL byte" },
        { "a column's default", "op.add_column('t', { 'w', 'text', default = " ..
          nul("x\0y") .. " })",
          "bad argument #2 to 'add_column' (column \"w\": option 'default' contains a NUL byte" },
        { "alter_column server_default", "op.alter_column('t', 'v', { server_default = " ..
          nul("'x'\0junk") .. " })",
          "bad argument #3 to 'alter_column' (option 'server_default' contains a NUL byte" },
        { "a check constraint's text", "op.create_check_constraint('ck_v', 't', " ..
          nul("v <> 'z'\0 OR true") .. ")",
          "bad argument #3 to 'create_check_constraint' (check condition contains a NUL byte" },
        { "a table comment", "op.create_table_comment('t', " .. nul("c\0d") .. ")",
          "bad argument #2 to 'create_table_comment' (comment contains a NUL byte" },
        { "an option name", "op.create_index('ix_t_v', 't', { 'v' }, { [" ..
          nul("where\0x") .. "] = 'v > 0' })",
          "option name 'where' in the options for create_index contains a NUL byte" },
        { "a bulk_insert column name", "op.bulk_insert('t', { { id = 3, [" ..
          nul("v\0x") .. "] = 'c' } })",
          "bad argument #2 to 'bulk_insert' (row 1's column name \"v\" contains a NUL byte" },
      }
      for _, c in ipairs(cases) do
        it(c[1] .. " is refused, naming the op and file:line; nothing applied", function()
          setup({ base, h.rev({ id = "bbb222", down = "aaa111", up = c[2] }) })
          local r = run("upgrade head")
          assert.equal(1, r.code, r.err)
          assert.matches("lmigrate: error: versions/bbb222_rev.lua:5: " .. c[3], r.err, 1, true)
          assert.version_is(url, { "aaa111" })
          assert.same({ { "1", "a" }, { "2", "b" } }, rows())
          assert.has_no_index(url, "ix_t_v")
        end)
      end

      it("backfill set= and where= are refused", function()
        for _, opt in ipairs({ "set", "where" }) do
          local o = opt == "set" and ("set = " .. nul("v = 'z'\0, id = 0") .. ", where = 'true'")
            or ("set = \"v = 'z'\", where = " .. nul("id = 1\0 OR true"))
          setup({ base, h.rev({ id = "bbb222", down = "aaa111",
            fields = "  data = function(op) op.backfill{ table = 't', key = 'id', " .. o .. " } end," }) })
          local r = run("upgrade head")
          assert.equal(1, r.code, r.err)
          assert.matches("versions/bbb222_rev.lua:5: op.backfill: option '" .. opt ..
            "' contains a NUL byte", r.err, 1, true)
          assert.same({ { "1", "a" }, { "2", "b" } }, rows())
        end
      end)

      it("a backfill fn returning a column name with a NUL is refused", function()
        setup({ base, h.rev({ id = "bbb222", down = "aaa111",
          fields = "  data = function(op) op.backfill{ table = 't', key = 'id', " ..
            "fn = function(row) return { [" .. nul("v\0x") .. "] = 'z' } end } end," }) })
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("fn returned column \"v\" with a NUL byte in its name", r.err, 1, true)
        assert.same({ { "1", "a" }, { "2", "b" } }, rows())
      end)

      it("a parameter value with a NUL is bound whole or refused, never cut", function()
        setup({ base, h.rev({ id = "bbb222", down = "aaa111",
          up = "op.execute('UPDATE t SET v = $1 WHERE id = 1', { " .. nul("x\0y") .. " })" }) })
        local r = run("upgrade head")
        if backend == "sqlite" then
          assert.equal(0, r.code, r.err)
          assert.same({ { "3" } }, h.query(url, "SELECT length(CAST(v AS BLOB)) FROM t WHERE id = 1"))
        else
          assert.equal(1, r.code, r.err)
          assert.matches("versions/bbb222_rev.lua:5: execute: parameter $1: text contains " ..
            "a NUL byte, which PostgreSQL text cannot hold", r.err, 1, true)
          assert.same({ { "1", "a" }, { "2", "b" } }, rows())
        end
      end)
    end)

    describe("an interrupt inside a revision's pcall", function()
      -- bbb222 creates a table, then spins inside pcall (writing
      -- stopped-here first), then creates another table when the pcall
      -- returns. Returns the exit status and stderr after signal sig.
      local function spin(sig, catcher)
        setup({ base, h.rev({ id = "bbb222", down = "aaa111", up = [[
    op.create_table("t_before", { "id", "integer" })
    ]] .. catcher .. [[

    op.create_table("t_after", { "id", "integer" })]] }) },
          -- no lint pass: it would run the spinning upgrade first, offline
          'return { script_location = "versions", lint = "off" }\n')
        local cmd = ("cd %s && { { env -u DATABASE_URL LMIGRATE_URL=%s XDG_CACHE_HOME=%s " ..
          "%s upgrade head >out.log 2>err.log & echo $! >pid.txt; wait $!; " ..
          "echo $? >rc.txt; } </dev/null >/dev/null 2>&1 & }"):format(Q(dir), Q(url),
          Q(dir .. "/cache"), Q(h.bin()))
        os.execute(cmd)
        local deadline = os.time() + 60
        while not h.exists(dir .. "/stopped-here") and not h.exists(dir .. "/rc.txt")
              and os.time() < deadline do
          os.execute("sleep 0.05")
        end
        os.execute("sleep 0.2")
        local pid = h.read(dir .. "/pid.txt"):match("%d+")
        os.execute(("kill -%s %s 2>/dev/null"):format(sig, pid))
        while not h.exists(dir .. "/rc.txt") and os.time() < deadline do
          os.execute("sleep 0.05")
        end
        if not h.exists(dir .. "/rc.txt") then
          os.execute(("kill -KILL %s 2>/dev/null"):format(pid))
          error("lmigrate did not stop after SIG" .. sig)
        end
        os.execute("sleep 0.1")
        return tonumber(h.read(dir .. "/rc.txt")), h.read(dir .. "/err.log")
      end

      local SPIN = 'io.open("stopped-here", "w"):close() while true do end'
      local catchers = {
        { "pcall", "local ok = pcall(function() " .. SPIN .. " end)" },
        { "pcall in a loop", "for i = 1, 1e9 do pcall(function() " .. SPIN .. " end) end" },
        { "xpcall", "xpcall(function() " .. SPIN .. " end, function(e) return e end)" },
        { "coroutine", "local co = coroutine.wrap(function() " .. SPIN .. " end) pcall(co)" },
      }
      for _, c in ipairs(catchers) do
        local name, catcher = c[1], c[2]
        it("(" .. name .. ") SIGINT: rolled back, exit 130", function()
          local code, err = spin("INT", catcher)
          assert.equal(130, code, err)
          assert.matches("revision bbb222 (versions/bbb222_rev.lua) was interrupted and " ..
            "was rolled back", err, 1, true)
          assert.version_is(url, { "aaa111" })
          assert.has_no_table(url, "t_before")
          assert.has_no_table(url, "t_after")
        end)
      end

      it("SIGTERM: rolled back, exit 143", function()
        local code, err = spin("TERM", catchers[1][2])
        assert.equal(143, code, err)
        assert.matches("was interrupted and was rolled back", err, 1, true)
        assert.version_is(url, { "aaa111" })
        assert.has_no_table(url, "t_after")
      end)

      it("an error() that looks like an interrupt is an ordinary failure", function()
        for _, forged in ipairs({ 'error("interrupted")', 'error("interrupted", 0)',
            'error(setmetatable({}, { __tostring = function() return "interrupted" end }))' }) do
          setup({ base, h.rev({ id = "bbb222", down = "aaa111", up = forged }) })
          local r = run("upgrade head")
          assert.equal(1, r.code, r.err)
          assert.matches("revision bbb222 (versions/bbb222_rev.lua) failed and was rolled back",
            r.err, 1, true)
          assert.no.matches("was interrupted", r.err, 1, true)
          assert.no.matches("lmigrate: interrupted", r.err, 1, true)
          assert.version_is(url, { "aaa111" })
        end
      end)
    end)

    describe("a NUL byte in ids, labels and config strings", function()
      -- { field, its line (line 2 of the file), the message part }; the
      -- other fields follow on lines of their own
      local cases = {
        { "revision", "revision = " .. nul("bbb\x00222"), "versions/x_rev.lua:2: 'revision' contains a NUL byte" },
        { "down_revision", "down_revision = " .. nul("aaa111\0zzz"),
          "versions/x_rev.lua:2: 'down_revision' contains a NUL byte" },
        { "depends_on", "depends_on = { " .. nul("aaa111\0zzz") .. " }",
          "versions/x_rev.lua:2: 'depends_on[1]' contains a NUL byte" },
        { "branch_labels", "branch_labels = " .. nul("feat\0x"),
          "versions/x_rev.lua:2: 'branch_labels' contains a NUL byte" },
        { "message", "message = " .. nul("m\0x"), "versions/x_rev.lua:2: 'message' contains a NUL byte" },
        { "a field name", "[" .. nul("message\0x") .. "] = 'm'",
          "versions/x_rev.lua: a field name of the returned table contains a NUL byte" },
      }
      for _, c in ipairs(cases) do
        it("in a revision's " .. c[1] .. ": refused before the database is touched", function()
          local rest = c[1] == "revision" and "" or "  revision = 'bbb222',\n"
          if c[1] ~= "down_revision" then rest = rest .. "  down_revision = 'aaa111',\n" end
          setup({ base, { file = "x_rev.lua", text = "return {\n  " .. c[2] .. ",\n" .. rest ..
            "  upgrade = function(op) op.create_table('t2', { 'id', 'integer' }) end,\n}\n" } })
          local r = run("upgrade head")
          assert.equal(1, r.code, r.err)
          assert.matches("lmigrate: error: " .. c[3], r.err, 1, true)
          assert.version_is(url, {})
          assert.has_no_table(url, "t")
        end)
      end

      local configs = {
        { "url", "url = " .. nul("sqlite:other.db\0x"), "'url' must not contain a NUL byte", true },
        { "script_location", "script_location = " .. nul("versions\0x"),
          "'script_location' must not contain a NUL byte" },
        { "version_locations", "version_locations = { " .. nul("versions\0x") .. " }",
          "version_locations[1] must not contain a NUL byte" },
        { "version_table", "script_location = 'versions', version_table = " .. nul("v\0x"),
          "'version_table' must not contain a NUL byte" },
        { "revision_template", "script_location = 'versions', revision_template = " ..
          nul("t.lua\0x"), "'revision_template' must not contain a NUL byte" },
        { "a key", "script_location = 'versions', [" .. nul("url\0x") .. "] = 'sqlite:x.db'",
          "key 'url' contains a NUL byte" },
        { "a hook name", "script_location = 'versions', hooks = { [" ..
          nul("on_error\0x") .. "] = function() end }", "hook name 'on_error' contains a NUL byte" },
      }
      for _, c in ipairs(configs) do
        it("in the config's " .. c[1] .. ": refused", function()
          setup({ base }, "return { " .. c[2] .. " }\n")
          local r = run("upgrade head", c[4] and { LMIGRATE_URL = false } or nil)
          assert.equal(1, r.code, r.err)
          assert.matches("lmigrate: error: lmigrate.lua: " .. c[3], r.err, 1, true)
          assert.version_is(url, {})
        end)
      end
    end)

    describe("load errors name the file", function()
      it("a precompiled (bytecode) revision file", function()
        setup({ base, { file = "bbb222_rev.lua", text = string.dump(load(
          "return { revision = 'bbb222', down_revision = 'aaa111', upgrade = function() end }")) } })
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: versions/bbb222_rev.lua: is a precompiled (binary) " ..
          "Lua chunk; lmigrate loads Lua source only", r.err, 1, true)
        assert.version_is(url, {})
      end)

      it("a precompiled config file", function()
        setup({ base }, string.dump(load("return { script_location = 'versions' }")))
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: lmigrate.lua: is a precompiled (binary) Lua chunk",
          r.err, 1, true)
      end)

      it("a too deeply nested constructor (C stack overflow)", function()
        setup({ base, { file = "bbb222_rev.lua", text = "return " .. ("{"):rep(400) ..
          ("}"):rep(400) .. "\n" } })
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: versions/bbb222_rev.lua: C stack overflow " ..
          "(nesting too deep", r.err, 1, true)
        setup({ base }, "return " .. ("{"):rep(400) .. ("}"):rep(400) .. "\n")
        r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: lmigrate.lua: C stack overflow", r.err, 1, true)
      end)
    end)

    describe("os.exit", function()
      it("in a revision is an error; the revision is rolled back", function()
        setup({ base, h.rev({ id = "bbb222", down = "aaa111",
          up = "op.create_table('t2', { 'id', 'integer' }) os.exit(0)" }) })
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: versions/bbb222_rev.lua:5: os.exit is not allowed " ..
          "in a revision; raise an error instead", r.err, 1, true)
        assert.version_is(url, { "aaa111" })
        assert.has_no_table(url, "t2")
        r = run({ "upgrade", "head" })
        assert.equal(1, r.code, r.err)
      end)

      it("at the top of a revision file is an error naming it", function()
        setup({ base, { file = "bbb222_rev.lua", text = "os.exit(true)\nreturn {}\n" } })
        local r = run("heads")
        assert.equal(1, r.code, r.err)
        assert.matches("versions/bbb222_rev.lua:1: os.exit is not allowed in a revision",
          r.err, 1, true)
      end)

      it("in the config or one of its hooks is an error", function()
        setup({ base }, "os.exit(0)\n")
        local r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate: error: lmigrate.lua:1: os.exit is not allowed in " ..
          "lmigrate.lua; raise an error instead", r.err, 1, true)
        assert.version_is(url, {})
        setup({ base }, "return { script_location = 'versions', hooks = {\n" ..
          "  before_revision = function() os.exit(0) end } }\n")
        r = run("upgrade head")
        assert.equal(1, r.code, r.err)
        assert.matches("lmigrate.lua:2: os.exit is not allowed in lmigrate.lua", r.err, 1, true)
        assert.version_is(url, {})
      end)
    end)

    describe("the revision cache", function()
      it("is pruned when written: unused for 30 days, or past 64 MiB", function()
        setup({ base })
        local cache = dir .. "/cache/lmigrate"
        os.execute("mkdir -p " .. Q(cache))
        local old = cache .. "/" .. ("a"):rep(64) .. ".cache"
        local recent = cache .. "/" .. ("b"):rep(64) .. ".cache"
        local big = cache .. "/" .. ("c"):rep(64) .. ".cache"
        local other = cache .. "/notes.txt"
        local stale_tmp = cache .. "/" .. ("d"):rep(64) .. ".cache.Ab12Cd"
        for _, f in ipairs({ old, recent, other, stale_tmp }) do h.write(f, "x") end
        os.execute(("touch -d '40 days ago' %s %s %s"):format(Q(old), Q(other), Q(stale_tmp)))
        local r = run("heads", { XDG_CACHE_HOME = dir .. "/cache" })
        assert.equal(0, r.code, r.err)
        assert.is_false(h.exists(old))
        assert.is_false(h.exists(stale_tmp))
        assert.is_true(h.exists(recent))
        assert.is_true(h.exists(other))      -- not one of ours: never touched
        -- past the cap: the least recently used go first, the new file stays
        os.execute(("truncate -s 70M %s && touch -d '2 days ago' %s"):format(Q(big), Q(big)))
        h.write(dir .. "/versions/ccc333_rev.lua", h.rev({ id = "ccc333", down = "aaa111" }).text)
        r = run("heads", { XDG_CACHE_HOME = dir .. "/cache" })
        assert.equal(0, r.code, r.err)
        assert.is_false(h.exists(big))
        assert.is_true(h.exists(recent))
        local mine = io.popen("ls " .. Q(cache) .. " | grep -v '^[bc]\\{64\\}' | grep -c '\\.cache$'"):read("a")
        assert.equal("1", mine:match("%d+"))
      end)

      it("LMIGRATE_NO_CACHE=1 neither reads nor writes it", function()
        setup({ base })
        local r = run("heads", { XDG_CACHE_HOME = dir .. "/cache", LMIGRATE_NO_CACHE = "1" })
        assert.equal(0, r.code, r.err)
        assert.is_false(h.exists(dir .. "/cache/lmigrate"))
      end)
    end)
  end)
end
