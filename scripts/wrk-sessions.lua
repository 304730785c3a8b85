-- wrk script: each request carries the next session token from the file given after `--`,
-- so every session in it is used in turn (threads start at different places).
local tokens = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  next_index = math.random(#tokens)
end

function request()
  local token = tokens[next_index]
  next_index = next_index % #tokens + 1
  return wrk.format("GET", nil, { Cookie = "orgdesk_session=" .. token })
end
