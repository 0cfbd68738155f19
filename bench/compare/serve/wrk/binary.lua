-- The same request with the binary tensor extension: a JSON header of Inference-Header-Content-Length bytes, then
-- the raw float32 tensor. The header length is read from BODY_FILE.header-length (written by make_bodies.py).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.headers["Inference-Header-Content-Length"] = common.read(args[1] .. ".header-length"):match("%d+")
  wrk.body = common.read(args[1])
end
