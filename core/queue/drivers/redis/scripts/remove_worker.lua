--[[
  Drops a stopping worker's heartbeat, unless another worker under its name wrote the one
  stored (two workers sharing a --name: the one still running stays listed).
  KEYS[1] the heartbeat
  ARGV[1] host, ARGV[2] pid, ARGV[3] startedAt of the stopping worker
  Returns 1 when the heartbeat was dropped or was gone, 0 when it is another worker's. A
  heartbeat that is not JSON with those fields (written by hand) is dropped.
]]
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, beat = pcall(cjson.decode, stored)
  if ok and type(beat) == 'table' and type(beat.host) == 'string' and type(beat.pid) == 'number'
      and type(beat.startedAt) == 'number'
      and (beat.host ~= ARGV[1] or beat.pid ~= tonumber(ARGV[2]) or beat.startedAt ~= tonumber(ARGV[3])) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
return 1
