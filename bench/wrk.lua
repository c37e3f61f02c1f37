-- Request shape for wrk, from the environment, so bench/overserver.py keeps the one copy of each
-- scenario's body: WRK_METHOD, WRK_BODY and WRK_CONTENT_TYPE. wrk builds the request once.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and #body > 0 then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"
end
