-- spec/helpers/graph.lua: what the graph unit specs share (graph_spec.lua,
-- graph_alembic_spec.lua): revision tables for lmigrate.core.graph, sorted
-- copies, and the topological-order assertion.
local assert = require "luassert"
local M = {}

-- rev("b", "a", { labels = {"x"}, deps = {"lib"}, path = "..." })
function M.rev(id, down, o)
  o = o or {}
  return { revision = id, down_revision = down, depends_on = o.deps,
           branch_labels = o.labels, path = o.path or ("versions/" .. id .. ".lua") }
end

-- A sorted copy of a list.
function M.sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

-- Every step comes after its parents and dependencies (up) or after its
-- children and dependents (down).
function M.assert_order(g, steps, dir)
  local at = {}
  for i, id in ipairs(steps) do at[id] = i end
  for i, id in ipairs(steps) do
    local below = {}
    for _, p in ipairs(g:parents(id)) do below[#below + 1] = p end
    for _, p in ipairs(g:deps(id)) do below[#below + 1] = p end
    for _, p in ipairs(below) do
      if at[p] then
        if dir == "up" then assert.is_true(at[p] < i, p .. " before " .. id)
        else assert.is_true(at[p] > i, p .. " after " .. id) end
      end
    end
  end
end

return M
