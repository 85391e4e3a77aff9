--[[
  Moves failed jobs back to the queue with their attempts reset, but those whose expiresAt has
  passed: retried, they would only end expired unstarted, and their error would be lost with
  the failed record. They stay failed.
  KEYS[1] failed
  KEYS[2] wait
  KEYS[3] seq
  KEYS[4] signal
  ARGV[1] job hash prefix
  ARGV[2] 'ids' to take ARGV[6..], or 'before' to take up to 1000 failed before ARGV[3] (ms)
  ARGV[3] cutoff epoch ms (for 'before'; '+inf' for all)
  ARGV[4] for 'before', where to go on from (a cursor: the earlier calls of one retry leave the
          ids past their expiresAt in the set): the lowest score to look at ('-inf' at first),
  ARGV[5] and how many members of that score, the first ones, to pass over (those earlier
          calls left there). Members another command deletes meanwhile shift only this count,
          within one score (one millisecond of failures), not the whole run.
  Returns { {id, name, ... of the jobs moved}, how many members were looked at,
            {ids left failed: past their expiresAt},
            {ids asked for ('ids') that were no failed job},
            the cursor for the next call: the last score looked at and how many members of
            that score it left in the set (or the score given and its count, when none) }. A
  member whose record is gone is dropped without being moved, so callers repeat 'before' while
  a call looks at 1000, not while it moves 1000. A record whose key holds another type (its hash
  replaced by hand) counts as gone (jobFields: logged by Redis) and the key is left as it is;
  redis.call would fail the call after the jobs moved so far (with no wake-up for them), and
  every retry after it. A seq that holds no integer, or a wait set or signal list of another
  type, fails the call before its first move (WRONGTYPE, or "value is not an integer"): the
  jobs stay failed.
]]
--!include common
local jobPrefix = ARGV[1]
local ids
local scores = {}
local from = ARGV[4] or '-inf'
local skip = tonumber(ARGV[5]) or 0
if ARGV[2] == 'ids' then
  ids = selectIds(KEYS[1], 'ids', ARGV[3], 6)
else
  ids = {}
  local scored = redis.call('ZRANGEBYSCORE', KEYS[1], from, ARGV[3], 'WITHSCORES', 'LIMIT', skip, 1000)
  for i = 1, #scored, 2 do
    ids[#ids + 1] = scored[i]
    scores[#scores + 1] = scored[i + 1]
  end
end
local now = nowMs()
local nowText = int(now)
local moved = {}
local expired = {}
local missing = {}
-- which of `ids` (by place) stay in the set
local left = {}
-- ids named by the caller may be no failed job; those read from the set just now are
local named = ARGV[2] == 'ids'
for i, id in ipairs(ids) do
  local key = jobPrefix .. id
  local inSet = not named or redis.call('ZSCORE', KEYS[1], id)
  local f = inSet and jobFields(key, redis.pcall('HMGET', key, 'spec', 'attempts', 'expiresAt'))
  local expiresAt = f and tonumber(f[3])
  if not f then
    missing[#missing + 1] = id
  elseif expiresAt and expiresAt <= now and (f[1] or f[2]) then
    expired[#expired + 1] = id
    left[i] = true
  elseif f[1] or f[2] then
    -- Before this job's first write, and so before any move: the calls that fail on a damaged
    -- seq (no integer), wait set or signal list. Redis keeps the writes of a script that fails,
    -- and a job taken out of the failed set and refused by the wait set would be in neither.
    -- (Only entries of gone records were dropped before, as they would be anyway.)
    if #moved == 0 then
      refuseOtherTypes({ KEYS[2] }, KEYS[4])
    end
    redis.call('ZADD', KEYS[2], waitScore(specPriority(f[1]), redis.call('INCR', KEYS[3])), id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', key, 'status', 'queued', 'queuedAt', nowText, 'attempts', '0', 'progress', '0')
    -- and the answers kept for its earlier attempts' lost replies (settled:<token>): it starts over
    local gone = {
      'finishedAt', 'error', 'progressMessage', 'progressData', 'runAt', 'cancelRequested', 'ran', 'stalls', 'startedAt', 'worker',
    }
    for _, field in ipairs(redis.call('HKEYS', key)) do
      if string.sub(field, 1, 8) == 'settled:' then
        gone[#gone + 1] = field
      end
    end
    callChunked('HDEL', key, gone) -- one field per attempt: there may be thousands
    moved[#moved + 1] = id
    moved[#moved + 1] = specName(f[1])
  else
    redis.call('ZREM', KEYS[1], id)
    if named then
      missing[#missing + 1] = id
    end
  end
end
if #moved > 0 then
  signal(KEYS[4])
end
-- the cursor: members of the last score looked at that stay in the set
local lastScore, stay = from, skip
if #scores > 0 then
  lastScore = scores[#scores]
  stay = lastScore == from and skip or 0
  for i = 1, #scores do
    if scores[i] == lastScore and left[i] then
      stay = stay + 1
    end
  end
end
return { moved, #ids, expired, missing, lastScore, stay }
