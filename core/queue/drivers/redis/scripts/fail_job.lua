--[[
  Records a failed attempt: retry now, retry later, or fail for good. A job whose
  cancel was requested ends cancelled instead; one whose retry would come due at or after its
  expiresAt fails for good.
  KEYS[1] active
  KEYS[2] wait
  KEYS[3] delayed
  KEYS[4] failed
  KEYS[5] seq
  KEYS[6] signal
  KEYS[7] cancelled
  KEYS[8] leases
  ARGV[1] job hash prefix
  ARGV[2] job id
  ARGV[3] token
  ARGV[4] error as JSON
  ARGV[5] ms before the next try, or -1 to fail for good
  ARGV[6] finished records to keep per set
  ARGV[7] max age of finished records in ms
  ARGV[8] failed records to keep
  Returns 'retrying' (queued at once), 'retrying:<runAt>' (delayed until runAt, epoch ms by this
  server's clock, as on the record), 'failed', 'cancelled' or 'lost'. The job's hash keeps the
  answer for each failed attempt under its lease token ('settled:<token>', one field per
  attempt), so the same attempt failed again (its reply lost on the way, and the call sent again
  by ioredis or the worker) gets the same answer, even after later attempts, while the record is
  kept.
  A job key of another type (its hash replaced by hand) fails the call with WRONGTYPE before
  any write, which the driver reports as E_REDIS_WRONG_TYPE naming the key: the key's first
  read stays ahead of every write. So does a seq that holds no integer, or a set the job goes
  into (or the signal list) of another type: the job stays leased, and its attempt can be
  failed again once the key is mended.
]]
--!include common
local jobPrefix = ARGV[1]
local id = ARGV[2]
local key = jobPrefix .. id
local retryInMs = tonumber(ARGV[5])
local now = nowMs()
local settledField = 'settled:' .. ARGV[3]
if not ownsLease(KEYS[8], id, ARGV[3]) then
  -- only a failure's own answers: a release under the same token ('queued') is not one
  local settled = settledAnswer(key, ARGV[3])
  if settled and (string.sub(settled, 1, 8) == 'retrying' or settled == 'failed' or settled == 'cancelled') then
    return settled
  end
  return 'lost'
end
local f = redis.call('HMGET', key, 'cancelRequested', 'spec', 'expiresAt')
local outcome = f[1] == '1' and 'cancelled' or retryInMs < 0 and 'failed' or 'retrying'
-- a retry that could not start before the job's expiresAt is none: it fails now, with this error
local expiresAt = f[3] and tonumber(f[3])
if outcome == 'retrying' and expiresAt and now + retryInMs >= expiresAt then
  outcome = 'failed'
end
-- a retry that waits: its answer carries the run-at time the record gets, at the latest the
-- end of the year 9999 (LATEST_DISPATCH_MS, dispatch_options.ts: the latest a dispatch names)
local runAt = outcome == 'retrying' and retryInMs > 0 and int(math.min(now + retryInMs, 253402300799999)) or nil
local answer = runAt and ('retrying:' .. runAt) or outcome
-- Every call that can fail on a damaged key of the queue comes before the first write (Redis
-- keeps the writes of a script that fails: the job would be in no set, its lease gone, and
-- nothing would run or reclaim it): the order number of a retry, queued now or delayed (a gap in
-- the counter when a later call fails is harmless), and the type of the set the job goes into.
local seq = outcome == 'retrying' and redis.call('INCR', KEYS[5])
if outcome == 'cancelled' then
  refuseOtherTypes({ KEYS[7] })
elseif outcome == 'failed' then
  refuseOtherTypes({ KEYS[4] })
else
  refuseOtherTypes({ runAt and KEYS[3] or KEYS[2] }, KEYS[6])
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[8], id)
redis.call('HSET', key, 'error', ARGV[4], settledField, answer)
if outcome == 'cancelled' then
  finishInto(KEYS[7], jobPrefix, id, 'cancelled', now, tonumber(ARGV[6]), tonumber(ARGV[7]))
  return 'cancelled'
end
if outcome == 'failed' then
  redis.call('HSET', key, 'status', 'failed', 'finishedAt', int(now))
  -- trimmed first, to make room: trimmed after, a record failed earlier in the same millisecond
  -- with a higher id would outrank this one, and this job's record would go at once; an entry of
  -- its id left in the set (its hash deleted by hand) must not be the one trimmed
  redis.call('ZREM', KEYS[4], id)
  trimFinished(KEYS[4], jobPrefix, math.max(0, tonumber(ARGV[8]) - 1), 0, now)
  redis.call('ZADD', KEYS[4], int(now), id)
  return 'failed'
end
-- the next attempt starts from no progress
redis.call('HDEL', key, 'progress', 'progressMessage', 'progressData')
if runAt then
  redis.call('ZADD', KEYS[3], runAt, id)
  -- its order number: retries due at one time are queued in the order they were delayed
  redis.call('HSET', key, 'status', 'delayed', 'runAt', runAt, 'delayedSeq', seq)
else
  redis.call('ZADD', KEYS[2], waitScore(specPriority(f[2]), seq), id)
  redis.call('HSET', key, 'status', 'queued', 'queuedAt', int(now))
end
signal(KEYS[6])
return answer
