-- wrk script for bench/mcpd/http.sh: stops after `calls` answers, so both proxies are measured
-- over the same number of calls, and checks every answer. One wrk thread (-t1).
--
--   wrk -t1 -c16 -d120s -s bench/mcpd/http.lua URL -- mode=get|mcp calls=N expect=TEXT done=FILE
--
--   mode=get   a plain GET of URL (nginx proxy_pass)
--   mode=mcp   an MCP tools/call of the tool "echo" with {"message": "hello"} in the modern era
--              (2026-07-28, stateless), each with a unique JSON-RPC id (mcpd's http tool)
--   calls=N    answers to wait for before stopping (per wrk thread: N / threads)
--   expect=T   every answer must be 200 and hold T (mode=mcp: also "result" and no "isError")
--   done=FILE  created when the thread stops: wrk's main thread sleeps the whole -d whatever its
--              threads do, so the caller waits for FILE and then sends wrk SIGINT, which ends
--              that sleep (the summary's duration is then the run's, to the caller's polling)
--
-- done() prints one line (parsed by http.sh) and exits 1 if any answer was wrong:
--   http.lua: responses=N bad=B first_bad=...

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
   for _, t in ipairs(threads) do t:set("nthreads", #threads) end
end

local mode, want, expect, done_file = "get", 0, nil, nil
local base, counter = 0, 0
local method, path, headers = "GET", nil, {}
local body_head = '{"jsonrpc":"2.0","id":'
local body_tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},'
   .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
   .. '"io.modelcontextprotocol/clientCapabilities":{},'
   .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
responses, bad, first_bad = 0, 0, ""

function init(args)
   for _, a in ipairs(args) do
      local k, v = string.match(a, "^([%w_]+)=(.*)$")
      if k == "mode" then mode = v
      elseif k == "calls" then want = tonumber(v)
      elseif k == "expect" then expect = v
      elseif k == "done" then done_file = v end
   end
   -- a global set by setup() on every thread once all were made (no local may shadow it)
   local n = tonumber(nthreads) or 1
   if want > 0 then want = math.ceil(want / n) end
   base = (tonumber(tid) or 0) * 1000000000000
   if mode == "mcp" then
      method = "POST"
      headers = {
         ["Content-Type"] = "application/json",
         ["Accept"] = "application/json, text/event-stream",
         ["MCP-Protocol-Version"] = "2026-07-28",
         ["Mcp-Method"] = "tools/call",
         ["Mcp-Name"] = "echo",
      }
   end
end

local fixed = nil
function request()
   if mode ~= "mcp" then
      if not fixed then fixed = wrk.format("GET", path, headers) end
      return fixed
   end
   counter = counter + 1
   return wrk.format("POST", path, headers, body_head .. string.format("%d", base + counter) .. body_tail)
end

function response(status, hdrs, body)
   responses = responses + 1
   local ok = status == 200 and body ~= nil
   if ok and expect and not string.find(body, expect, 1, true) then ok = false end
   if ok and mode == "mcp" and (not string.find(body, '"result"', 1, true)
                                or string.find(body, '"isError":true', 1, true)) then
      ok = false
   end
   if not ok then
      bad = bad + 1
      if first_bad == "" then
         first_bad = "status " .. tostring(status) .. " body " .. string.sub(tostring(body), 1, 300)
      end
   end
   if want > 0 and responses == want then
      if done_file then io.open(done_file, "w"):close() end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local r, b, fb = 0, 0, ""
   for _, t in ipairs(threads) do
      r = r + (t:get("responses") or 0)
      b = b + (t:get("bad") or 0)
      local f = t:get("first_bad")
      if fb == "" and f and f ~= "" then fb = f end
   end
   io.write(string.format("http.lua: responses=%d bad=%d duration_us=%d first_bad=%s\n", r, b,
                          summary.duration, fb))
   io.stdout:flush()
   if b > 0 or r == 0 then os.exit(1) end
end
