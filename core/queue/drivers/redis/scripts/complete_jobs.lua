--[[
  Marks jobs completed, in one call for a batch of acknowledgements.
  KEYS[1] active
  KEYS[2] completed
  KEYS[3] completion counter of the current 10-second bucket (for queue:stats)
  ARGV[1] job hash prefix
  ARGV[2] completed records to keep (0: delete at once)
  ARGV[3] max age of completed records in ms (0: no age bound)
  ARGV[4..] triples: id, token, JSON result
  Returns per job: 1 completed, 0 lease lost (nothing changed).
]]
--!include common
local jobPrefix = ARGV[1]
local keepCount = tonumber(ARGV[2])
local keepAgeMs = tonumber(ARGV[3])
local now = nowMs()
local out = {}
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local key = jobPrefix .. id
  if redis.call('HGET', key, 'token') == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], id)
    if keepCount > 0 then
      redis.call('HSET', key, 'status', 'completed', 'finishedAt', now, 'result', ARGV[i + 2])
      redis.call('HDEL', key, 'token')
      redis.call('ZADD', KEYS[2], now, id)
    else
      redis.call('DEL', key)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
local completed = 0
for _, done in ipairs(out) do
  completed = completed + done
end
if completed > 0 then
  redis.call('INCRBY', KEYS[3], completed)
  redis.call('PEXPIRE', KEYS[3], 130000)
end
if keepCount > 0 then
  trimFinished(KEYS[2], jobPrefix, keepCount, keepAgeMs, now)
end
return out
