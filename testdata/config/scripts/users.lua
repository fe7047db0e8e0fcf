-- Example route script (testdata/config/full.yaml): tag the request with the
-- caller's JWT subject and say so in the response.
function on_request(req)
  if req.jwt and req.jwt.sub then
    req.headers:set("X-User", req.jwt.sub)
  end
end

function on_response(req, res)
  res.headers:set("X-Scripted", "users")
end
