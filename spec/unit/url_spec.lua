-- url_spec.lua: database URL parsing and password redaction (src/url.c),
-- through lmigrate.core's url_parse / url_redact.
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

local FORMS = "sqlite:PATH, sqlite:///relative.db, sqlite:////absolute/path.db, "
  .. "sqlite::memory:, postgresql://user:pass@host:port/dbname (or postgres://...)"

-- The error raised by url_parse(s), as a string.
local function parse_error(s)
  local ok, err = pcall(core.url_parse, s)
  assert.is_false(ok, "expected url_parse to fail for " .. tostring(s))
  return tostring(err)
end

describe("url_parse #unit", function()
  describe("sqlite", function()
    local cases = {
      { "sqlite:app.db", "app.db" },
      { "sqlite:data/app.db", "data/app.db" },
      { "sqlite:/var/lib/app.db", "/var/lib/app.db" },
      { "sqlite:///relative.db", "relative.db" },
      { "sqlite:///sub/dir/rel.db", "sub/dir/rel.db" },
      { "sqlite:////abs/path.db", "/abs/path.db" },
      { "sqlite::memory:", ":memory:" },
      { "sqlite://", ":memory:" },
      { "sqlite:///:memory:", ":memory:" },
      { "SQLite:app.db", "app.db" },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " -> " .. c[2], function()
        local u = core.url_parse(c[1])
        assert.same({ kind = "sqlite", path = c[2], raw = c[1], redacted = c[1] }, u)
      end)
    end

    it("keeps a file: name a plain file name, not a URI", function()
      assert.equal("./file:x.db", core.url_parse("sqlite:file:x.db").path)
    end)

    it("keeps an @ in a path untouched", function()
      local u = core.url_parse("sqlite:////srv/a:b@c.db")
      assert.equal("/srv/a:b@c.db", u.path)
      assert.equal("sqlite:////srv/a:b@c.db", u.redacted)
    end)
  end)

  describe("postgresql", function()
    it("keeps the URL for libpq and has no path", function()
      local u = core.url_parse("postgresql://app:s3cret@db.example:5433/prod?sslmode=require")
      assert.equal("postgresql", u.kind)
      assert.is_nil(u.path)
      assert.equal("postgresql://app:s3cret@db.example:5433/prod?sslmode=require", u.raw)
      assert.equal("postgresql://app:***@db.example:5433/prod?sslmode=require", u.redacted)
    end)

    it("normalises postgres:// to postgresql://", function()
      local u = core.url_parse("postgres://app@localhost/dev")
      assert.equal("postgresql", u.kind)
      assert.equal("postgresql://app@localhost/dev", u.raw)
      assert.equal("postgresql://app@localhost/dev", u.redacted)
    end)

    it("accepts socket-only and empty URIs", function()
      assert.equal("postgresql:///dev?host=/tmp", core.url_parse("postgresql:///dev?host=/tmp").raw)
      assert.equal("postgresql://", core.url_parse("postgres://").raw)
    end)
  end)

  describe("errors", function()
    it("rejects an empty URL", function()
      assert.equal("no database URL given; expected " .. FORMS, parse_error(""))
    end)

    it("rejects an empty SQLite path", function()
      assert.equal("empty SQLite path in database URL 'sqlite:'; expected " .. FORMS,
                   parse_error("sqlite:"))
      assert.matches("empty SQLite path in database URL 'sqlite:///'",
                     parse_error("sqlite:///"), 1, true)
    end)

    it("rejects a host in a SQLite URL", function()
      assert.matches("unsupported SQLite URL (sqlite:// takes no host) 'sqlite://host/x.db'",
                     parse_error("sqlite://host/x.db"), 1, true)
    end)

    it("rejects an unknown scheme, naming the redacted URL and the forms", function()
      local e = parse_error("mysql://root:hunter2@localhost/app")
      assert.equal("unsupported database URL 'mysql://root:***@localhost/app'; expected "
                   .. FORMS, e)
      assert.is_nil(e:find("hunter2", 1, true))
    end)

    it("rejects garbage", function()
      assert.equal("unsupported database URL 'not a url'; expected " .. FORMS,
                   parse_error("not a url"))
    end)

    it("never shows a password from key=value text", function()
      local e = parse_error("host=db password=hunter2 dbname=app")
      assert.matches("'host=db password=*** dbname=app'", e, 1, true)
      assert.is_nil(e:find("hunter2", 1, true))
    end)

    it("never shows a password from a not-quite URL", function()
      for _, c in ipairs({
        { "postgresql//u:Hunter2pw@h/db", "postgresql//u:***@h/db" },
        { "postgresql:/u:Hunter2pw@h/db", "postgresql:/u:***@h/db" },
        { "u:Hunter2pw@localhost/db", "u:***@localhost/db" },
        { "postgresq://u:Hunter2pw@h/db", "postgresq://u:***@h/db" },
      }) do
        local e = parse_error(c[1])
        assert.equal("unsupported database URL '" .. c[2] .. "'; expected " .. FORMS, e)
      end
    end)

    -- libpq ends the userinfo at the first '@' (when no '/' comes before
    -- it): a URL it would split elsewhere than the masking does is refused.
    it("refuses a raw '@' in the password, asking for %40", function()
      for _, url in ipairs({ "postgresql://u:pa@ss@127.0.0.1:1/db", "postgres://u:p@s@s@h/db",
                             "postgresql://u:pw@h/db?application_name=a@b" }) do
        local e = parse_error(url)
        assert.matches("has more than one '@'; percent-encode an '@' in the password as %40", e, 1, true)
        assert.is_nil(e:find("ss@", 1, true))
        assert.is_nil(e:find(":p", 1, true))
      end
      assert.equal("database URL 'postgresql://u:***@127.0.0.1:1/db' has more than one '@'; " ..
        "percent-encode an '@' in the password as %40",
        parse_error("postgresql://u:pa@ss@127.0.0.1:1/db"))
    end)

    it("refuses a raw '/' before the '@', asking for %2F", function()
      assert.equal("database URL 'postgresql://u:***@h/db' has a '/' before its '@'; " ..
        "percent-encode a '/' in the password as %2F (and an '@' elsewhere as %40)",
        parse_error("postgresql://u:pa/ss@h/db"))
    end)

    it("accepts what libpq splits the same way", function()
      for _, c in ipairs({
        { "postgresql://u:pa%40ss@h/db", "postgresql://u:***@h/db" },
        { "postgresql://u:pa%2Fss@h/db", "postgresql://u:***@h/db" },
        { "postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db" },
        { "postgresql://u:pa:ss@h:5432/db", "postgresql://u:***@h:5432/db" },
        { "postgresql://u@h/db?application_name=a@b", "postgresql://u@h/db?application_name=a@b" },
        { "postgresql://h/db?application_name=a@b", "postgresql://h/db?application_name=a@b" },
        { "postgresql://u:@h/db", "postgresql://u:@h/db" },
      }) do
        assert.equal(c[2], core.url_parse(c[1]).redacted)
      end
    end)

    it("wants a string", function()
      assert.has_error(function() core.url_parse({}) end)
    end)
  end)
end)

describe("url_redact #unit", function()
  local cases = {
    { "postgresql://user:pass@host/db", "postgresql://user:***@host/db" },
    { "postgresql://user:pass@host:5432/db?sslmode=disable",
      "postgresql://user:***@host:5432/db?sslmode=disable" },
    -- a raw '@' or '/' in the password is masked whole
    { "postgresql://u:p@ss/w0rd@host/db", "postgresql://u:***@host/db" },
    { "postgresql://host/db?user=u&password=secret&sslmode=require",
      "postgresql://host/db?user=u&password=***&sslmode=require" },
    { "postgresql://u:pw@host/db?password=other", "postgresql://u:***@host/db?password=***" },
    { "postgresql://host/db?Password=secret", "postgresql://host/db?Password=***" },
    -- user:password@ anywhere, up to the last '@'
    { "postgresql//u:Hunter2pw@h/db", "postgresql//u:***@h/db" },
    { "postgresql:/u:Hunter2pw@h/db", "postgresql:/u:***@h/db" },
    { "u:Hunter2pw@localhost/db", "u:***@localhost/db" },
    { "postgresql:u:Hunter2pw@h/db", "postgresql:***@h/db" },
    { "postgresql://u:pa@ss@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db" },
    { "postgresql://u:pa?ss#x@h/db", "postgresql://u:***@h/db" },
    { "postgresql://u:/pw@h/db", "postgresql://u:***@h/db" },
    -- a password= value and a userinfo that overlap are masked as one
    { "postgresql://h:5432/db?password=p@ss", "postgresql://h:***" },
    { "postgresql://h/db?password=a&password=b", "postgresql://h/db?password=***&password=***" },
    -- nothing to hide
    { "postgresql://user@host/db", "postgresql://user@host/db" },
    { "postgresql://user:@host/db", "postgresql://user:@host/db" },
    { "postgresql://host/db?password=", "postgresql://host/db?password=" },
    { "postgresql://host/db?mypassword=x", "postgresql://host/db?mypassword=x" },
    { "sqlite:app.db", "sqlite:app.db" },
    { "sqlite:////srv/u:p@x.db", "sqlite:////srv/u:p@x.db" },
    -- not URLs at all
    { "hello world", "hello world" },
    { "", "" },
    { "user:pass", "user:pass" },
  }
  for _, c in ipairs(cases) do
    it(string.format("%q -> %q", c[1], c[2]), function()
      assert.equal(c[2], core.url_redact(c[1]))
    end)
  end

  it("masks any scheme's userinfo password", function()
    assert.equal("mysql://root:***@localhost/app", core.url_redact("mysql://root:hunter2@localhost/app"))
  end)
end)

describe("url_mask #unit", function()
  it("masks the URL and its passwords in a message", function()
    local u = "postgresql://u:s3cret@h/db"
    assert.equal("could not connect to postgresql://u:***@h/db (password ***... no: ***)",
      core.url_mask(u, "could not connect to " .. u .. " (password s3cret... no: s3cret)"))
  end)

  -- fuzz/corpus/fuzz_url/regress-mask-growth: every password was masked in a
  -- pass of its own over the previous pass's output, so a password that
  -- "***" contains (here "*", twenty times) tripled the text twenty times.
  it("masks in one pass: a password '*' does not make the text grow", function()
    local u = "postgresql://h/db?" .. ("password=*&"):rep(20) .. "sslmode=disable"
    local t0 = os.clock()
    assert.equal("a *** b ***", core.url_mask(u, "a * b *"))
    assert.is_true(os.clock() - t0 < 1)
  end)
end)

describe("url_parse and NUL bytes #unit", function()
  it("refuses a URL with a NUL byte instead of parsing what precedes it", function()
    local ok, err = pcall(core.url_parse, "sqlite:app.db\0.bak")
    assert.is_false(ok)
    assert.matches("contains a NUL byte", tostring(err), 1, true)
  end)
end)
