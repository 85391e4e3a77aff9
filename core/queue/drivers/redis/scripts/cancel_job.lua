--[[
  Cancels a job: one that has not started is cancelled at once; for a running one a
  cancel is requested, which its worker sees on its next lease renewal.
  KEYS[1] wait
  KEYS[2] delayed
  KEYS[3] pending
  KEYS[4] cancelled
  KEYS[5] leases     (a 'running' job without a lease completed: statusOf)
  ARGV[1] job hash prefix
  ARGV[2] job id
  ARGV[3] finished records to keep
  ARGV[4] max age of finished records in ms
  Returns 'cancelled', 'running', 'missing' or 'state:<status>' for a finished job.
  A job key of another type (its hash replaced by hand) fails the call with WRONGTYPE before
  any write, which the driver reports as E_REDIS_WRONG_TYPE naming the key: the key's first
  read stays ahead of every write. So does a cancelled set of another type: the job stays where
  it was.
]]
--!include common
local jobPrefix = ARGV[1]
local id = ARGV[2]
local status = statusOf(jobPrefix .. id, id, KEYS[5])
if not status then
  return 'missing'
end
local from = { queued = KEYS[1], delayed = KEYS[2], pending = KEYS[3] }
if from[status] then
  -- before the first write: a cancelled set of another type would fail finishInto after it,
  -- and the job would be in no set (Redis keeps the writes of a script that fails)
  refuseOtherTypes({ KEYS[4] })
  redis.call('ZREM', from[status], id)
  finishInto(KEYS[4], jobPrefix, id, 'cancelled', nowMs(), tonumber(ARGV[3]), tonumber(ARGV[4]))
  return 'cancelled'
end
if status == 'running' then
  redis.call('HSET', jobPrefix .. id, 'cancelRequested', '1')
  return 'running'
end
return 'state:' .. status
