-- wrk script: POST /echo with a 1 KiB JSON document.
init = function(args)
  local items = {}
  for i = 1, 24 do
    items[i] = string.format('{"id":%d,"name":"item-%03d","ok":true}', i, i)
  end
  local body = '{"items":[' .. table.concat(items, ",") .. '],"pad":"'
  body = body .. string.rep("x", 1024 - #body - 2) .. '"}'
  req = wrk.format("POST", "/echo", {["Content-Type"] = "application/json"}, body)
end

request = function()
  return req
end
