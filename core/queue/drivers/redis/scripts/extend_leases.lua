--[[
  Renews the leases of running jobs that the caller still owns.
  KEYS[1] active
  KEYS[2] leases
  ARGV[1] job hash prefix
  ARGV[2] lease length in ms
  ARGV[3..] pairs: id, token
  Returns per job: 1 renewed, 2 renewed but a cancel was requested, 0 lease lost.
]]
--!include common
local jobPrefix = ARGV[1]
local deadline = int(math.ceil(nowMs() + tonumber(ARGV[2])))
local out = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if ownsLease(KEYS[2], id, ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
    out[#out + 1] = redis.call('HGET', jobPrefix .. id, 'cancelRequested') == '1' and 2 or 1
  else
    out[#out + 1] = 0
  end
end
return out
