-- The FP32 tensor as Open Inference Protocol JSON: POST /v2/models/{m}/infer, Content-Type application/json.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = common.read(args[1])
end
