-- spec/support/summary.lua: busted output handler used by `make test`.
-- It delegates to busted's usual terminal handler (utfTerminal on a tty,
-- plainTerminal otherwise; override with LMIGRATE_BUSTED_OUTPUT) and, once
-- the suite has ended, prints a plain last line:
--
--   N passed, N failed
--
-- where "failed" counts failures and errors (a spec file that does not load
-- is an error). It prints nothing if busted dies before the suite ends, so a
-- crash never looks like "0 failed". A run that collected no tests at all is
-- reported as a failure too (a wrong ROOT or pattern must not pass).
return function(options)
  local busted = require "busted"
  local name = os.getenv("LMIGRATE_BUSTED_OUTPUT") or options.defaultOutput
  if name == "spec/support/summary.lua" then name = "plainTerminal" end
  local inner = require("busted.outputHandlers." .. name)(options)

  local subscribe = inner.subscribe
  inner.subscribe = function(self, opts)
    subscribe(self, opts)
    busted.subscribe({ "suite", "end" }, function()
      local passed = inner.successesCount or 0
      local failed = (inner.failuresCount or 0) + (inner.errorsCount or 0)
      local pending = inner.pendingsCount or 0
      io.stdout:write("\n")
      if pending > 0 then
        io.stdout:write(("(%d pending)\n"):format(pending))
      end
      if passed + failed == 0 then
        io.stdout:write("no specs ran: check .busted ROOT/pattern\n")
        failed = 1
        io.stdout:write(("%d passed, %d failed\n"):format(passed, failed))
        io.stdout:flush()
        os.exit(1, true)
      end
      io.stdout:write(("%d passed, %d failed\n"):format(passed, failed))
      io.stdout:flush()
      return nil, true
    end)
  end
  return inner
end
