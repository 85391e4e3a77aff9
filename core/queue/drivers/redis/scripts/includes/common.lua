-- Shared helpers, inlined at the top of scripts that say `--!include common`.

-- Milliseconds since the epoch from the Redis server clock: one clock for every worker.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A whole number as the text Redis gets. A number passed to redis.call is formatted with
-- "%.17g" and one joined to a string with "%.14g", both through glibc's slow float printing
-- (about 2,300 instructions each under callgrind); "%d" formats a C long for a fraction of
-- that. Hot paths pass every number through this, or as a literal string.
local function int(n)
  -- past 2^53 a number is no whole count of ms anyway, and past a C long %d wraps around
  if n > 9007199254740991 then
    n = 9007199254740991
  elseif n < -9007199254740991 then
    n = -9007199254740991
  elseif n ~= n then
    n = 0
  end
  return string.format('%d', n)
end

-- The wait set: lower priority number first, then FIFO by sequence. Priorities are integers
-- in [-1000, 1000], each with a band of WAIT_BAND (2^41) scores from waitBand(priority). Its
-- first WAIT_FRONT (2^32) are the front, for jobs handed back (frontScore); queued jobs score
-- WAIT_FRONT + their sequence (waitScore). queue_stats.lua reads the same layout.
local WAIT_BAND = 2199023255552
local WAIT_FRONT = 4294967296

-- The first score of the band of `priority` (a number, or its text).
local function waitBand(priority)
  return (tonumber(priority) + 1000) * WAIT_BAND
end

-- Score in the wait set of a queued job. Formatted with %d (a C long, exact below 2^53):
-- Lua's own number format keeps only 14 digits, and %.0f goes through glibc's slow
-- multi-precision float printing.
local function waitScore(priority, seq)
  return string.format('%d', waitBand(priority) + WAIT_FRONT + seq)
end

-- Score in the wait set `waitKey` of a job handed back to the front of its priority (a
-- release, a reclaim): ahead of every queued job of the priority and behind the jobs handed
-- back before it, so jobs handed back one after another keep that order.
local function frontScore(waitKey, priority)
  local base = waitBand(priority)
  local last = redis.call('ZREVRANGEBYSCORE', waitKey, '(' .. int(base + WAIT_FRONT), int(base),
    'WITHSCORES', 'LIMIT', '0', '1')
  return int(last[2] and math.min(tonumber(last[2]) + 1, base + WAIT_FRONT - 1) or base)
end

-- Puts job `id` (hash `key`) back at the front of its priority in the wait set `waitKey`, as
-- queued at `nowText`: a job handed back was taken before the rest.
local function queueAtFront(waitKey, key, id, priority, nowText)
  redis.call('ZADD', waitKey, frontScore(waitKey, priority), id)
  redis.call('HSET', key, 'status', 'queued', 'queuedAt', nowText)
end

-- The maxTries (a number) and priority (text) in a job's spec, which push_jobs.lua stores as
-- "name\nmaxTries\npriority\ncreatedAt\npayload". They are not fields of their own: every
-- field of a small hash costs a little on each write and each lookup, and they never change.
-- A spec that is missing or damaged gives the defaults (0: the worker's tries; priority 0),
-- so the job still moves between sets instead of the script failing halfway.
local function specNumbers(spec)
  local maxTries, priority = string.match(spec or '', '^[^\n]*\n([^\n]*)\n([^\n]*)\n')
  return tonumber(maxTries) or 0, tonumber(priority) and priority or '0'
end

-- `reply`, the reply of redis.pcall('HMGET', key, ...) on the job hash `key`: its fields
-- (false where missing), or none at all (an empty table) when the key holds another type, put
-- there by hand or by another program. The job is then taken as gone, where redis.call would
-- fail the script halfway, after writes Redis keeps (jobs popped from their queue, leases
-- deleted). Logged to the Redis server's log. On the reserve path (one hash per job) this costs
-- about 500 of some 62,000 instructions per job (`npm run bench:instructions`).
local function jobFields(key, reply)
  if reply.err then
    redis.log(redis.LOG_WARNING, 'topiq: ' .. key .. ' is no job hash (' .. reply.err .. '); its job is taken as gone')
    return {}
  end
  return reply
end

-- Fails the script, before its first write, when one of the sorted sets `zsets`, the list
-- `list` (nil for none) or the hashes `hashes` (nil for none) it writes to later holds a value
-- of another type (set by hand, or by
-- another program): ZCARD and LLEN fail with WRONGTYPE as that ZADD or RPUSH would, but before
-- anything changed. Redis keeps the writes a failing script made: a job taken out of one set and
-- then refused by the next would be in none, and nothing would ever run or reclaim it. Reads
-- only; a key that does not exist passes.
local function refuseOtherTypes(zsets, list, hashes)
  for i = 1, #zsets do
    redis.call('ZCARD', zsets[i])
  end
  if list then
    redis.call('LLEN', list)
  end
  if hashes then
    for i = 1, #hashes do
      redis.call('HLEN', hashes[i])
    end
  end
end

-- The job name in a job's spec ('' when there is no spec).
local function specName(spec)
  return string.match(spec or '', '^[^\n]*')
end

-- Gives back the attempt of the job in hash `key`, which has `attempts` counted (a number):
-- its run did not happen or does not count. With none left it keeps no start time or worker.
-- Returns the attempts left.
local function giveAttemptBack(key, attempts)
  attempts = math.max(0, attempts - 1)
  redis.call('HSET', key, 'attempts', int(attempts))
  if attempts == 0 then
    redis.call('HDEL', key, 'startedAt', 'worker')
  end
  return attempts
end

-- The priority in a job's spec, as text for waitScore.
local function specPriority(spec)
  local _, priority = specNumbers(spec)
  return priority
end

-- Wakes one blocked worker unless a wake-up is already waiting.
local function signal(signalKey)
  if redis.call('LLEN', signalKey) == 0 then
    redis.call('RPUSH', signalKey, '1')
  end
end

-- Runs `command key a b c ...` over `values` in chunks: one call per 1,000 values
-- instead of one per value (unpack has a stack limit, hence the chunks). Returns the reply
-- of the last call.
local function callChunked(command, key, values)
  local reply
  for first = 1, #values, 1000 do
    local last = math.min(#values, first + 999)
    if key then
      reply = redis.call(command, key, unpack(values, first, last))
    else
      reply = redis.call(command, unpack(values, first, last))
    end
  end
  return reply
end

-- Keeps a finished-records set within `keepCount` entries and `keepAgeMs` of age,
-- deleting the job hashes of the records it drops (one DEL per batch). At most 1,000 go
-- by each bound per call, so every call stays short: a lowered bound is reached over the
-- next calls that finish a job into the set.
local function trimFinished(setKey, jobPrefix, keepCount, keepAgeMs, now)
  local excess = math.min(1000, redis.call('ZCARD', setKey) - keepCount)
  if excess > 0 then
    local ids = redis.call('ZRANGE', setKey, '0', int(excess - 1))
    local keys = {}
    for i, id in ipairs(ids) do
      keys[i] = jobPrefix .. id
    end
    callChunked('DEL', nil, keys)
    redis.call('ZREMRANGEBYRANK', setKey, '0', int(excess - 1))
  end
  if keepAgeMs > 0 then
    local old = redis.call('ZRANGEBYSCORE', setKey, '-inf', int(now - keepAgeMs), 'LIMIT', '0', '1000')
    if #old > 0 then
      local keys = {}
      for i, id in ipairs(old) do
        keys[i] = jobPrefix .. id
      end
      redis.call('DEL', unpack(keys))
      redis.call('ZREM', setKey, unpack(old))
    end
  end
end

-- Finishes a job into one of the finished-records sets (cancelled, expired).
local function finishInto(setKey, jobPrefix, id, status, now, keepCount, keepAgeMs)
  local key = jobPrefix .. id
  if keepCount <= 0 then
    redis.call('DEL', key)
    -- records kept under an earlier, larger bound still go (as completed ones do)
    trimFinished(setKey, jobPrefix, 0, keepAgeMs, now)
    return
  end
  local nowText = int(now)
  redis.call('HSET', key, 'status', status, 'finishedAt', nowText)
  -- trimmed first, to make room: trimmed after, a record finished earlier in the same
  -- millisecond with a higher id would outrank this one, and this job's record would go at once;
  -- an entry of its id left in the set (its hash deleted by hand) must not be the one trimmed
  redis.call('ZREM', setKey, id)
  trimFinished(setKey, jobPrefix, keepCount - 1, keepAgeMs, now)
  redis.call('ZADD', setKey, nowText, id)
end

-- Hands a leased job back: out of the active set and its lease, the attempt not counted (its
-- progress dropped, and no start time or worker kept when no attempt is left), and back at the
-- front of its priority (it was taken before the rest); one whose cancel was requested ends
-- cancelled instead, and keeps its attempt (its start, worker and progress too) when it ran under
-- this lease ('ran' is the caller's token), as a reclaim of its lapsed lease would count it.
-- Returns 1 when queued, 2 when cancelled, then the attempts left. Used by
-- release_jobs.lua and by reserve_jobs.lua for what a repeated call does not take. Given the caller's lease token,
-- the outcome stays on the job ('settled:<token>' = 'release:queued' or 'release:cancelled',
-- values fail_job.lua never takes for its own), for a release sent again.
local function releaseLeased(activeKey, leasesKey, waitKey, cancelledKey, jobPrefix, id, token, now, keepCount, keepAgeMs)
  local key = jobPrefix .. id
  local f = redis.call('HMGET', key, 'spec', 'cancelRequested', 'attempts', 'ran')
  redis.call('ZREM', activeKey, id)
  redis.call('HDEL', leasesKey, id)
  local cancelled = f[2] == '1'
  if token then
    redis.call('HSET', key, 'settled:' .. token, cancelled and 'release:cancelled' or 'release:queued')
  end
  if cancelled and token and f[4] == token then
    finishInto(cancelledKey, jobPrefix, id, 'cancelled', now, keepCount, keepAgeMs)
    return 2, tonumber(f[3]) or 1
  end
  -- not HINCRBY: it fails on a damaged value, after the lease is gone
  local attempts = giveAttemptBack(key, tonumber(f[3]) or 1)
  -- its next attempt starts from no progress (a job released on shutdown may have begun)
  redis.call('HDEL', key, 'progress', 'progressMessage', 'progressData')
  if cancelled then
    finishInto(cancelledKey, jobPrefix, id, 'cancelled', now, keepCount, keepAgeMs)
    return 2, attempts
  end
  queueAtFront(waitKey, key, id, specPriority(f[1]), int(now))
  return 1, attempts
end

-- Whether job `id`, whose hash says `status`, completed. A completed job's hash keeps the
-- fields of its last attempt ('running'), and its lease is gone: a running job has one
-- exactly while it is in the active set (complete_jobs.lua).
local function completedWith(status, id, leasesKey)
  return status == 'running' and redis.call('HEXISTS', leasesKey, id) == 0
end

-- The status of the job in hash `key`, or nil when there is none (read_records.lua reads
-- it alike).
local function statusOf(key, id, leasesKey)
  local status = redis.call('HGET', key, 'status')
  if completedWith(status, id, leasesKey) then
    return 'completed'
  end
  return status
end

-- An entry of a queue's completed times list, 'count:finish ms' (complete_jobs.lua): how
-- many ids it accounts for (0 when damaged by hand) and its finish time as text ('' when
-- damaged, '0' for ids kept without a time).
local function timesEntry(entry)
  local colon = string.find(entry, ':', 1, true)
  if not colon then
    return 0, ''
  end
  local count = tonumber(string.sub(entry, 1, colon - 1))
  if not count or count < 1 then
    count = 0
  end
  return count, string.sub(entry, colon + 1)
end

-- The answer a call that settled the attempt leased under `token` kept on job `key`
-- ('settled:<token>': fail_job.lua's answer, 'retrying:<runAt>' included, or releaseLeased's),
-- for that call sent again after its reply was lost; false when there is none.
local function settledAnswer(key, token)
  return token ~= '' and redis.call('HGET', key, 'settled:' .. token)
end

-- settledAnswer for a job key that may hold another type (put there by hand): false for one
-- that does, logged as jobFields does, where HGET would fail the script after its writes.
local function settledAnswerOf(key, token)
  return token ~= '' and (jobFields(key, redis.pcall('HMGET', key, 'settled:' .. token))[1] or false)
end

-- Whether the caller holding `token` owns the running job `id`: the queue's leases hash
-- maps it to that token. Every script that takes a job out of the active set deletes its
-- lease in the same call, so a lease token is there exactly while its job is in the active set.
local function ownsLease(leasesKey, id, token)
  return token ~= '' and redis.call('HGET', leasesKey, id) == token
end

-- The ids a bulk operation applies to: ARGV[firstId..] when mode is 'ids', else up to
-- 1000 members of `setKey` scored at or below `cutoff` (callers repeat until fewer come back).
local function selectIds(setKey, mode, cutoff, firstId)
  if mode == 'ids' then
    local ids = {}
    for i = firstId, #ARGV do
      ids[#ids + 1] = ARGV[i]
    end
    return ids
  end
  return redis.call('ZRANGEBYSCORE', setKey, '-inf', cutoff, 'LIMIT', 0, 1000)
end
