-- wrk script: POST /upload with a 1 MiB body.
init = function(args)
  req = wrk.format("POST", "/upload", {["Content-Type"] = "application/octet-stream"},
    string.rep("u", 1048576))
end

request = function()
  return req
end
