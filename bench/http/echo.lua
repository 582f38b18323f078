-- wrk script: an MCP tools/call of the `echo` tool; by default modern era (2026-07-28,
-- stateless, `_meta` in the body).
--
--   wrk -t1 -c64 -d10s --latency -s bench/http/echo.lua http://127.0.0.1:PORT/mcp
--   wrk ... -s bench/http/echo.lua URL -- [path=/mcp] [version=V] [size=BYTES] [message=S]
--                                          [session=ID] [accept=json|sse|both]
--
--   version=V   the MCP-Protocol-Version header (default 2026-07-28). The body stays the same
--               (the TypeScript SDK, which knows no 2026-07-28, is driven with 2025-11-25).
--   size=N      the message argument is N bytes of 'x' instead of "hello" (scenario 6)
--   message=S   the message argument is S (no quotes or backslashes) instead of "hello"
--   session=ID  legacy session call: sends Mcp-Session-Id, version defaults to 2025-11-25 and
--               the body carries no modern _meta (scenario 2)
--   accept=     json: "application/json"; sse: "text/event-stream"; both (default):
--               "application/json, text/event-stream"
--
-- Every request carries a unique JSON-RPC id (the body is built per request in request()), but
-- with size=65536 or more, where each wrk thread sends one prebuilt request (same id) again and
-- again (stateless servers answer each on its own).
-- response() counts answers whose status is not 200 and bodies without "result"; done()
-- prints one machine-readable line and exits 1 if any answer was wrong, so a broken server
-- cannot pass as a fast one. The same script drives nginx, which ignores the body.
--
-- Output line (parsed by bench/http/run.sh):
--   echo.lua: requests=N duration_us=D rps=R p50_us=A p99_us=B responses=M non200=X noresult=Y
--             errors_connect=.. errors_read=.. errors_write=.. errors_timeout=.. errors_status=..

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

local path = "/mcp"
local headers = {
   ["Content-Type"] = "application/json",
   ["Accept"] = "application/json, text/event-stream",
   ["MCP-Protocol-Version"] = "2026-07-28",
   ["Mcp-Method"] = "tools/call",
   ["Mcp-Name"] = "echo",
}
local body_head = '{"jsonrpc":"2.0","id":'
local body_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},'
   .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
   .. '"io.modelcontextprotocol/clientCapabilities":{},'
   .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'

local base = 0
local fixed = nil
non200 = 0
noresult = 0
responses = 0
first_bad = ""

function init(args)
   -- ids unique across wrk threads: thread n uses n*10^12 + 1, 2, 3, ...
   base = (tid or 0) * 1000000000000
   local opt = {}
   for _, a in ipairs(args) do
      local k, v = string.match(a, "^([%w_]+)=(.*)$")
      if k then opt[k] = v elseif a ~= "" then opt.path = a end
   end
   if opt.path then path = opt.path end
   local message = opt.message or "hello"
   if opt.size then message = string.rep("x", tonumber(opt.size)) end
   if opt.session then
      headers["Mcp-Session-Id"] = opt.session
      headers["MCP-Protocol-Version"] = opt.version or "2025-11-25"
      headers["Mcp-Method"] = nil
      headers["Mcp-Name"] = nil
      body_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"'
         .. message .. '"}}}'
   else
      if opt.version then headers["MCP-Protocol-Version"] = opt.version end
      body_tail = string.gsub(body_tail, '"hello"', function() return '"' .. message .. '"' end)
   end
   if opt.accept == "json" then headers["Accept"] = "application/json"
   elseif opt.accept == "sse" then headers["Accept"] = "text/event-stream" end
   if opt.size and tonumber(opt.size) >= 65536 then
      -- big bodies: one request built once (its id fixed per thread). Building a fresh
      -- megabyte string per request costs wrk's LuaJIT more than the servers spend on it
      -- (long strings that differ only in a few bytes share a hash chain), which capped every
      -- server near 40 req/s.
      fixed = wrk.format("POST", path, headers, body_head .. string.format("%d", base + 1) .. body_tail)
   end
end

function request()
   if fixed then return fixed end
   counter = counter + 1
   return wrk.format("POST", path, headers, body_head .. string.format("%d", base + counter) .. body_tail)
end

function response(status, hdrs, body)
   responses = responses + 1
   local bad = false
   if status ~= 200 then
      non200 = non200 + 1
      bad = true
   end
   if body == nil or not string.find(body, '"result"', 1, true) then
      noresult = noresult + 1
      bad = true
   end
   if bad and first_bad == "" then
      first_bad = "status " .. tostring(status) .. " body " .. string.sub(tostring(body), 1, 300)
   end
end

function done(summary, latency, requests)
   local r, n2, nr, fb = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      r = r + (t:get("responses") or 0)
      n2 = n2 + (t:get("non200") or 0)
      nr = nr + (t:get("noresult") or 0)
      local f = t:get("first_bad")
      if fb == "" and f and f ~= "" then fb = f end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "echo.lua: requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d responses=%d non200=%d noresult=%d "
      .. "errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d errors_status=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), r, n2, nr,
      e.connect, e.read, e.write, e.timeout, e.status))
   if n2 > 0 or nr > 0 or r == 0 then
      io.write("echo.lua: FAIL: " .. n2 .. " non-200 answers, " .. nr .. " bodies without \"result\""
         .. (r == 0 and ", no responses at all" or "") .. "\n")
      if fb ~= "" then io.write("echo.lua: first bad answer: " .. fb .. "\n") end
      io.stdout:flush()
      os.exit(1)
   end
   io.stdout:flush()
end
