-- The photo's JPEG bytes as the raw body of POST /predict, Content-Type image/jpeg.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "image/jpeg"
  wrk.body = common.read(args[1])
end
