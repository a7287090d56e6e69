-- diff_api_spec.lua: lmigrate.autogen, the entry points the C commands
-- call (contract in /work/issue11-contract.md): load_schema from a file,
-- compare, describe, has_differences, render, dump and to_json together.
local autogen = require("lmigrate.autogen")
local core = require("lmigrate.core")
local h = require("helpers")

describe("autogen API #unit", function()
  local dir, path
  before_each(function()
    dir = h.tmpdir()
    path = dir .. "/schema.lua"
    h.write(path, [[
local s = ...
s.create_table("customers",
  { "id", "integer", primary_key = true, autoincrement = true },
  { "email", "string(255)", nullable = false, unique = true })
s.create_table("orders",
  { "id", "bigint", primary_key = true },
  { "customer_id", "integer", references = "customers.id", on_delete = "CASCADE" },
  { "note", "text", server_default = "upper('x')" })
]])
  end)
  after_each(function() h.rmdir(dir) end)

  it("loads, compares, describes and renders a schema against an empty database", function()
    for _, d in ipairs({ "sqlite", "postgresql" }) do
      local m = autogen.load_schema(path, d, d == "postgresql" and "public" or nil)
      local empty = { dialect = d, default_schema = m.default_schema, schemas = {}, tables = {} }
      local chs = autogen.compare(m, empty, { renames = true })
      assert.same({ "Detected added table 'customers'", "Detected added table 'orders'" }, autogen.describe(chs))
      assert.is_true(autogen.has_differences(chs))
      local revs = autogen.render(chs).revisions
      assert.equal(1, #revs)
      local sql = core.render(d, assert(load("return function(op)\n" .. revs[1].upgrade .. "end"))())
      assert.matches('CREATE TABLE "orders"', sql)
      -- nothing left once the database has it
      assert.same({}, autogen.describe(autogen.compare(m, m)))
      assert.is_false(autogen.has_differences(autogen.compare(m, m)))
    end
  end)

  it("raises path:line errors from load_schema", function()
    h.write(path, 'local s = ...\n\ns.create_table("t", { "a", "integer", uniqe = true })\n')
    local ok, e = pcall(autogen.load_schema, path, "sqlite")
    assert.is_false(ok)
    assert.equal(path .. ":3: unknown option 'uniqe' for create_table (did you mean 'unique'?)", e)
  end)

  it("writes changes and notes as JSON", function()
    local m = autogen.load_schema(path, "postgresql")
    local r = autogen.load_schema(path, "postgresql")
    r.tables.orders.columns[3].server_default = "upper('y'::text)"
    r.tables.orders.columns[4] = { name = "old", type = "text", nullable = true }
    local chs = autogen.compare(m, r)
    assert.equal('{"differences":1,"changes":[' ..
      '{"kind":"drop_column","table":"orders","column":"old","summary":"removed column \'orders.old\'"},' ..
      '{"kind":"uncomparable_default","table":"orders","column":"note","info":true,"summary":' ..
      '"cannot compare the server default of \'orders.note\': declared upper(\'x\'), database has upper(\'y\'::text); ' ..
      'change it by hand if they differ"}]}', autogen.to_json(chs))
    assert.equal('{"differences":0,"changes":[]}', autogen.to_json(autogen.compare(m, m)))
  end)

  it("dumps a model that loads back equal", function()
    local m = autogen.load_schema(path, "sqlite")
    h.write(dir .. "/dumped.lua", autogen.dump(m))
    assert.same({}, autogen.describe(autogen.compare(autogen.load_schema(dir .. "/dumped.lua", "sqlite"), m)))
  end)
end)
