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
  read stays ahead of every write. So does a seq that holds no integer, or a set the job goes
  into (or the signal list) of another type: the job stays pending.
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
local delayed = runAt and runAt > now
-- Every call that can fail on a damaged key of the queue comes before the first write (Redis
-- keeps the writes of a script that fails: the job would be in no set, and nothing would run
-- it): its order number, queued now or delayed (a gap in the counter when a later call fails is
-- harmless), and the type of the set it goes into and of the signal list.
local seq = redis.call('INCR', KEYS[4])
refuseOtherTypes({ delayed and KEYS[3] or KEYS[2] }, KEYS[5])
redis.call('ZREM', KEYS[1], ARGV[2])
local result
if delayed then
  redis.call('ZADD', KEYS[3], int(runAt), ARGV[2])
  -- jobs due at one time are queued in the order they were delayed
  redis.call('HSET', key, 'status', 'delayed', 'delayedSeq', seq)
  result = 'delayed'
else
  redis.call('ZADD', KEYS[2], waitScore(specPriority(f[2]), seq), ARGV[2])
  redis.call('HSET', key, 'status', 'queued', 'queuedAt', int(now))
  result = 'queued'
end
signal(KEYS[5])
return result
