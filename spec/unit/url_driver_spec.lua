-- url_driver_spec.lua: SQLAlchemy's scheme+driver URL spellings
-- (src/url.c): the driver is dropped and reported, the rest parses as
-- the plain URL would.
package.cpath = "./build/lib/?.so;" .. package.cpath
local core = require "lmigrate.core"

describe("url_parse with a SQLAlchemy driver #unit", function()
  local cases = {
    { "postgresql+psycopg2://u:pw@db:5432/app", "postgresql", "psycopg2",
      "postgresql://u:pw@db:5432/app", "postgresql://u:***@db:5432/app" },
    { "postgresql+asyncpg://db/app?sslmode=require", "postgresql", "asyncpg",
      "postgresql://db/app?sslmode=require", "postgresql://db/app?sslmode=require" },
    { "postgres+psycopg://db/app", "postgresql", "psycopg", "postgresql://db/app",
      "postgresql://db/app" },
    { "sqlite+pysqlite:///rel.db", "sqlite", "pysqlite", "sqlite:///rel.db", "sqlite:///rel.db" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local u = core.url_parse(c[1])
      assert.equal(c[2], u.kind)
      assert.equal(c[3], u.driver)
      assert.equal(c[4], u.raw)
      assert.equal(c[5], u.redacted)
    end)
  end

  it("the path of sqlite+pysqlite:////abs.db is absolute", function()
    assert.equal("/abs.db", core.url_parse("sqlite+pysqlite:////abs.db").path)
  end)

  it("plain URLs have no driver", function()
    assert.is_nil(core.url_parse("postgresql://db/app").driver)
  end)

  it("other schemes with a driver stay unsupported", function()
    local ok, err = pcall(core.url_parse, "mysql+pymysql://u:pw@db/app")
    assert.is_false(ok)
    assert.matches("unsupported database URL 'mysql+pymysql://u:***@db/app'", tostring(err), 1, true)
    ok = pcall(core.url_parse, "postgresql+://db/app")
    assert.is_false(ok)
  end)
end)
