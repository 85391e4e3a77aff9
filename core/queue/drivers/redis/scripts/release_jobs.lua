--[[
  Puts running jobs back at the front of their queue without counting the attempt
  (a worker shutting down before they finished).
  KEYS[1] active
  KEYS[2] wait
  KEYS[3] signal
  ARGV[1] job hash prefix
  ARGV[2..] pairs: id, token
  Returns how many were released.
]]
--!include common
local jobPrefix = ARGV[1]
local now = nowMs()
local released = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local key = jobPrefix .. id
  local f = redis.call('HMGET', key, 'token', 'priority')
  if f[1] == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', key, 'token')
    redis.call('HINCRBY', key, 'attempts', -1)
    redis.call('HSET', key, 'status', 'queued', 'queuedAt', now)
    redis.call('ZADD', KEYS[2], waitScore(f[2], 0), id)
    released = released + 1
  end
end
if released > 0 then
  signal(KEYS[3])
end
return released
