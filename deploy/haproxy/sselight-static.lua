-- sselight's static files (assets/ and vendor/ of the www directory) for
-- HAProxy, which cannot serve files from disk itself. Loaded by the
-- "lua-load-per-thread" line of sselight.cfg, used there as
-- "http-request use-service lua.sselight_static".
--
-- The backend tells the service which file is asked for, in two variables:
--   txn.sselight_www  the www directory (@WWW@ in sselight.cfg)
--   txn.sselight_rel  the path below the URL prefix, e.g. assets/style.css
-- Only assets/NAME and vendor/NAME are served, NAME made of A-Z a-z 0-9
-- . _ - and not starting with a dot; anything else is 404.
--
-- A file is read from disk the first time it is asked for and then served
-- from memory (per HAProxy thread): reload HAProxy after replacing the
-- files (make install).

local types = {
    css = "text/css; charset=utf-8",
    js = "text/javascript; charset=utf-8",
    svg = "image/svg+xml",
    png = "image/png",
    ico = "image/x-icon",
    txt = "text/plain; charset=utf-8",
    html = "text/html; charset=utf-8",
}

local cache = {}

local function answer(applet, status, ctype, body, extra)
    applet:set_status(status)
    applet:add_header("content-type", ctype)
    applet:add_header("content-length", tostring(#body))
    if extra then
        for k, v in pairs(extra) do applet:add_header(k, v) end
    end
    applet:start_response()
    if applet.method ~= "HEAD" then applet:send(body) end
end

local function load(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local data = f:read("a")
    f:close()
    return data
end

core.register_service("sselight_static", "http", function(applet)
    if applet.method ~= "GET" and applet.method ~= "HEAD" then
        return answer(applet, 405, "text/plain; charset=utf-8",
                      "method not allowed\n", { allow = "GET, HEAD" })
    end
    local www = applet:get_var("txn.sselight_www")
    local rel = applet:get_var("txn.sselight_rel")
    local dir, name
    if rel then dir, name = rel:match("^(%l+)/([%w_%-][%w_%.%-]*)$") end
    if not www or (dir ~= "assets" and dir ~= "vendor") or not name then
        return answer(applet, 404, "text/plain; charset=utf-8", "not found\n")
    end
    local body = cache[rel]
    if not body then
        body = load(www .. "/" .. rel)
        if not body then
            return answer(applet, 404, "text/plain; charset=utf-8", "not found\n")
        end
        cache[rel] = body
    end
    local ext = name:match("%.(%w+)$")
    answer(applet, 200, types[ext] or "application/octet-stream", body)
end)
