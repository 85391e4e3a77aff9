--[[
  Releases a job created on hold (`pending`) into its queue.
  KEYS[1] pending
  KEYS[2] wait
  KEYS[3] delayed
  KEYS[4] seq
  KEYS[5] signal
  KEYS[6] leases     (a 'running' job without a lease completed: statusOf)
  ARGV[1] job hash prefix
  ARGV[2] job id
  Returns 'queued', 'delayed', 'missing' or 'state:<status>' when it was not pending.
  A job key of another type (its hash replaced by hand) fails the call with WRONGTYPE before
  any write, which the driver reports as E_REDIS_WRONG_TYPE naming the key: the key's first
  read stays ahead of every write.
]]
--!include common
local key = ARGV[1] .. ARGV[2]
local f = redis.call('HMGET', key, 'status', 'spec', 'runAt')
if not f[1] then
  return 'missing'
end
if f[1] ~= 'pending' then
  return 'state:' .. statusOf(key, ARGV[2], KEYS[6])
end
local now = nowMs()
-- a damaged runAt counts as none: an error after the ZREM would lose the job
local runAt = f[3] and tonumber(f[3])
redis.call('ZREM', KEYS[1], ARGV[2])
local result
if runAt and runAt > now then
  redis.call('ZADD', KEYS[3], int(runAt), ARGV[2])
  redis.call('HSET', key, 'status', 'delayed')
  result = 'delayed'
else
  redis.call('ZADD', KEYS[2], waitScore(specPriority(f[2]), redis.call('INCR', KEYS[4])), ARGV[2])
  redis.call('HSET', key, 'status', 'queued', 'queuedAt', int(now))
  result = 'queued'
end
signal(KEYS[5])
return result
