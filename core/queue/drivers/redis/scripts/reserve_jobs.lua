--[[
  Reserves up to `count` ready jobs of one queue under a lease. Before popping it
  promotes due delayed jobs (up to 1,000, each queued as of its run-at time) and reclaims
  jobs whose lease ended (crashed workers).
  KEYS[1] wait
  KEYS[2] delayed
  KEYS[3] active     running jobs scored by lease deadline
  KEYS[4] seq
  KEYS[5] signal
  KEYS[6] failed
  KEYS[7] cancelled
  KEYS[8] expired
  KEYS[9] leases     running job id -> lease token
  KEYS[10] the number of the latest reserve call of the calling driver on this queue
  KEYS[11] what the recent reserve calls of the calling driver on this queue settled (jobs they
           failed, expired or changed), a hash by call number, kept for a run of a call again
           after a lost reply
  ARGV[1] job hash prefix
  ARGV[2] count
  ARGV[3] lease length in ms
  ARGV[4] token for this reservation
  ARGV[5] worker name
  ARGV[6] tries for jobs dispatched without maxTries
  ARGV[7] finished records to keep per set
  ARGV[8] max age of finished records in ms (0: no age bound)
  ARGV[9] failed records to keep
  ARGV[10] the number of this call among the calling driver's (its token ends with it)
  ARGV[11] how many times at least a job's attempt is given back when its lease ends before
           it was known to start (its maxTries when more); the next time it fails
  ARGV[12] lapsed leases this call reclaims at most
  Returns { {"id\nattempt\nms left before expiresAt or ''\nname\nmaxTries\npriority\ncreatedAt\npayload", ...},
            {per job failed by this call (abandoned on its last try, or run before and past
             expiresAt): its hash as HGETALL gives it},
            ms until the next delayed job is due or lease ends, or -1 (looked up only when no
            job was reserved),
            {expired id, name, ...},
            {ids of the jobs failed by this call, in the order of their hashes},
            {per job this call queued (a delayed one come due, a lapsed lease handed back) or
             cancelled (a lapsed lease of a job whose cancel was requested): id, name, attempts,
             'queued', 'reclaimed' (queued: its lease lapsed) or 'cancelled'} }
  A key of the queue of another type fails the call before it takes any job out of its set
  (each step checks the keys it writes to before its first write: refuseOtherTypes); a seq that
  holds no integer fails the promotion of due delayed jobs before it moves any.
]]
--!include common
local jobPrefix = ARGV[1]
local count = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local token = ARGV[4]
local worker = ARGV[5]
local defaultMaxTries = tonumber(ARGV[6])
local keepCount = tonumber(ARGV[7])
local keepAgeMs = tonumber(ARGV[8])
local failedCount = tonumber(ARGV[9])
local stallLimit = tonumber(ARGV[11]) or 0
local reclaims = ARGV[12]
local now = nowMs()
-- numbers made strings once: see int in common.lua
local nowText = int(now)
-- the lease deadline of every job this call hands out, new or leased by an earlier run
local deadline = int(math.ceil(now + leaseMs))

-- 0. A call that already ran: ioredis sends a command again after a reconnection when its
-- reply was lost on the way, and a driver whose call failed sends its next one under the same
-- number and token. The jobs the earlier run leased under this token go back to the caller,
-- their leases renewed, along with as many more as the call asks for: nobody knew of them, and
-- their leases would have ended in a retry, or a failure on a last try, of jobs that never ran.
-- One whose lease has ended already is left to the reclaim below. A driver's calls on one queue
-- reach Redis in the order it numbered them, so an earlier or equal number is a repeat.
-- (The number goes to SET as the string it came as: Lua formats a number with a slow sprintf.)
-- Status changes made here that no worker's code makes: for the caller's job events.
local changed = {}
local function changedTo(status, id, spec, attempts)
  local n = #changed
  changed[n + 1] = id
  changed[n + 2] = specName(spec)
  changed[n + 3] = attempts or '0'
  changed[n + 4] = status
end
-- `first`'s elements, then `rest`'s (a decoded list that is not one counts as empty)
local function prepend(first, rest)
  if type(first) ~= 'table' or #first == 0 then
    return rest
  end
  local all = {}
  for i = 1, #first do
    all[i] = first[i]
  end
  for i = 1, #rest do
    all[#all + 1] = rest[i]
  end
  return all
end
-- the latest call numbers whose settled jobs are kept for a run again (see the end)
local SETTLED_CALLS_KEPT = 64
local keepMs = leaseMs > 60000 and int(math.ceil(leaseMs)) or '60000'
local latest = redis.call('SET', KEYS[10], ARGV[10], 'PX', keepMs, 'GET')
local again = {}
-- What an earlier run of this very call settled, when its reply was lost: those jobs are done
-- with (failed, expired, queued again), so only this reply can carry them to a worker for
-- their failed() hooks, events and logs.
local earlier
if latest and (tonumber(latest) or -1) >= tonumber(ARGV[10]) then
  redis.call('SET', KEYS[10], latest, 'PX', keepMs)
  -- a call sent again (rare): every key it may write to, checked first (refuseOtherTypes),
  -- once the latest call number is back (refused, it must not stay this call's lower one)
  refuseOtherTypes({ KEYS[1], KEYS[3], KEYS[6], KEYS[7], KEYS[8] }, KEYS[5], { KEYS[9], KEYS[11] })
  -- by its own number: a worker's calls overlap, so later ones may have run (and settled
  -- jobs) before this one is sent again
  local kept = redis.call('HGET', KEYS[11], ARGV[10])
  if kept then
    local ok, decoded = pcall(cjson.decode, kept)
    if ok and type(decoded) == 'table' then
      earlier = decoded
    end
  end
  local renewed = {}
  local held = redis.call('HGETALL', KEYS[9])
  for i = 1, #held, 2 do
    local id = held[i]
    if held[i + 1] == token then
      local score = tonumber(redis.call('ZSCORE', KEYS[3], id))
      local f = jobFields(jobPrefix .. id, redis.pcall('HMGET', jobPrefix .. id, 'spec', 'attempts', 'expiresAt'))
      if score and score > now and (f[1] or f[2]) then
        if #again < count then
          renewed[#renewed + 1] = deadline
          renewed[#renewed + 1] = id
          local expiresAt = f[3] and tonumber(f[3])
          local left = expiresAt and int(expiresAt - now) or ''
          again[#again + 1] = id .. '\n' .. (f[2] or '1') .. '\n' .. left .. '\n' .. (f[1] or '')
        else
          -- more than this call asks for (a failed call's number goes out again with a smaller
          -- count): handed back as a release hands it back, but with no answer kept, since no
          -- caller holds it (and a later repeat may lease it again under this token)
          local outcome, left = releaseLeased(KEYS[3], KEYS[9], KEYS[1], KEYS[7], jobPrefix, id, nil, now, keepCount, keepAgeMs)
          changedTo(outcome == 2 and 'cancelled' or 'queued', id, f[1], int(left))
        end
      end
    end
  end
  callChunked('ZADD', KEYS[3], renewed)
  count = count - #again
end

-- 1. Promote delayed jobs that are due, at most 1,000 (a bound on the run of one call; the
-- memory driver's PROMOTIONS_PER_RESERVE), in the order they came due, and those due at one
-- time in the order they were delayed (their delayedSeq: dispatched, retried or released),
-- not by id (the set's own order for a tie). Each is queued since its score, its run-at time:
-- it has waited since then, as queue_stats.lua counts a due one not yet promoted. (The score
-- goes to HSET as the text Redis gave: no number to format.)
local dueScored = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', nowText, 'WITHSCORES', 'LIMIT', '0', '1000')
if #dueScored > 0 then
  -- the keys it writes to (the settled hash at the end), checked before it moves any job
  refuseOtherTypes({ KEYS[1] }, KEYS[5], { KEYS[11] })
  local dueCount = #dueScored / 2
  local seq = redis.call('INCRBY', KEYS[4], int(dueCount)) - dueCount
  local due = {}
  local promoted = {}
  local tied = false
  for i = 1, dueCount do
    local id = dueScored[2 * i - 1]
    due[i] = id
    local key = jobPrefix .. id
    local f = jobFields(key, redis.pcall('HMGET', key, 'spec', 'attempts', 'delayedSeq'))
    if f[1] or f[2] then
      local at = dueScored[2 * i]
      -- a job delayed before delayedSeq was kept goes first among its ties, as the set has it; so
      -- does one whose field is damaged (NaN would break the sort after this call's first write)
      local order = tonumber(f[3]) or 0
      if order ~= order then
        order = 0
      end
      promoted[#promoted + 1] = { id, key, f, at, tonumber(at), order, i }
      tied = tied or (i > 1 and at == dueScored[2 * i - 2])
    end
  end
  if tied then
    table.sort(promoted, function(a, b)
      if a[5] ~= b[5] then
        return a[5] < b[5]
      end
      if a[6] ~= b[6] then
        return a[6] < b[6]
      end
      return a[7] < b[7]
    end)
  end
  for _, job in ipairs(promoted) do
    local f = job[3]
    seq = seq + 1
    redis.call('ZADD', KEYS[1], waitScore(specPriority(f[1]), seq), job[1])
    redis.call('HSET', job[2], 'status', 'queued', 'queuedAt', job[4])
    changedTo('queued', job[1], f[1], f[2])
  end
  redis.call('ZREM', KEYS[2], unpack(due))
end

-- 2. Reclaim jobs whose lease ended: their worker stopped renewing it. An attempt counts only
-- when the job was known to start under that lease ('ran' holds the lease's token: a lease
-- renewal or a progress report said so). Otherwise the worker may have died before the job
-- started (reserved ahead of a free slot) and the attempt is given back, at most `stallLimit`
-- times or maxTries times when more ('stalls'), so a job that kills its worker as it starts
-- still ends, and the jobs reserved ahead with it each time end no sooner than they did when
-- every such end counted an attempt.
local abandoned = {}
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', nowText, 'LIMIT', '0', reclaims)
-- before the first reclaim's writes, the keys a reclaimed job may go into (the failed set and
-- the settled hash at the end of the call): only a call that reclaims pays for it
if #stale > 0 then
  -- (the expired set too: step 3 writes to it after a job failed here left the active set)
  refuseOtherTypes({ KEYS[1], KEYS[6], KEYS[7], KEYS[8] }, KEYS[5], { KEYS[9], KEYS[11] })
end
-- in the order their leases ended (ties by id): the ones handed back to the front keep it,
-- behind those handed back by earlier calls (frontScore)
for _, id in ipairs(stale) do
  local key = jobPrefix .. id
  local lease = redis.call('HGET', KEYS[9], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[9], id)
  local f = jobFields(key, redis.pcall('HMGET', key, 'attempts', 'spec', 'cancelRequested', 'ran', 'stalls'))
  if f[1] then
    local maxTries, priority = specNumbers(f[2])
    if maxTries == 0 then
      maxTries = defaultMaxTries
    end
    local attempts = tonumber(f[1]) or 0
    local started = lease ~= false and f[4] == lease
    local stalls = (tonumber(f[5]) or 0) + 1
    local giveBacks = math.max(stallLimit, maxTries)
    -- the attempt of a job never known to start is not counted (giveAttemptBack)
    if f[3] == '1' then
      if not started then
        attempts = giveAttemptBack(key, attempts)
      end
      finishInto(KEYS[7], jobPrefix, id, 'cancelled', now, keepCount, keepAgeMs)
      changedTo('cancelled', id, f[2], int(attempts))
    elseif not started and stalls > giveBacks then
      redis.call('HSET', key, 'status', 'failed', 'finishedAt', nowText, 'stalls', int(stalls), 'error', cjson.encode({
        code = 'E_LEASE_EXPIRED',
        message = 'the job was abandoned ' .. int(stalls) .. ' times by workers that stopped renewing its lease'
          .. ' (crashed?) before it was known to start; its attempt is given back ' .. int(giveBacks) .. ' times at most',
      }))
      abandoned[#abandoned + 1] = id
    elseif started and attempts >= maxTries then
      redis.call('HSET', key, 'status', 'failed', 'finishedAt', nowText, 'error', cjson.encode({
        code = 'E_LEASE_EXPIRED',
        message = 'the job was abandoned by a worker that stopped renewing its lease (crashed?) on its last allowed try',
      }))
      abandoned[#abandoned + 1] = id
    else
      if not started then
        attempts = giveAttemptBack(key, attempts)
        redis.call('HSET', key, 'stalls', int(stalls))
      else
        -- its next attempt starts from no progress
        redis.call('HDEL', key, 'progress', 'progressMessage', 'progressData')
      end
      queueAtFront(KEYS[1], key, id, priority, nowText)
      changedTo('reclaimed', id, f[2], int(attempts))
    end
  end
end

-- 3. Pop ready jobs in (priority, FIFO) order.
local jobs = {}
local expired = {}
local leased = {}
-- The leases hash always holds this field: a value over 64 bytes keeps the hash in
-- hashtable encoding. As a listpack (under 128 fields: few running jobs) every lookup
-- would scan all of it. No job id has a space, so it is never read as a lease.
local tokens = { 'encoding pin', 'keeps this hash in hashtable encoding, so lookups by job id stay O(1)' }
-- the next attempt of the usual counts, looked up rather than parsed and formatted again
local NEXT_ATTEMPT = { ['0'] = '1', ['1'] = '2', ['2'] = '3', ['3'] = '4', ['4'] = '5' }
-- ZRANGE then ZREMRANGEBYRANK, not ZPOPMIN: the reply holds no scores to format
-- filled by position, not with t[#t + 1]: in Lua 5.1 each #t is a search
local reservedCount = 0
local popped = {}
if count > 0 then
  popped = redis.call('ZRANGE', KEYS[1], '0', int(count - 1))
end
-- Before the pop, the keys written after it but the active set (read in step 2): the leases,
-- the signal list, and, for a late job, the expired and failed sets and the settled hash.
-- Five O(1) reads per call, not per job (`npm run bench:instructions -- --jobs=5000`, calls of
-- 50: 63,482 -> 63,661 and 58,914 -> 60,014 instructions per job, records kept / not).
if #popped > 0 then
  refuseOtherTypes({ KEYS[6], KEYS[8] }, KEYS[5], { KEYS[9], KEYS[11] })
  redis.call('ZREMRANGEBYRANK', KEYS[1], '0', int(#popped - 1))
end
for _, id in ipairs(popped) do
  local key = jobPrefix .. id
  -- spec is "name\nmaxTries\npriority\ncreatedAt\npayload" (push_jobs.lua): one field to read and send
  local f = jobFields(key, redis.pcall('HMGET', key, 'spec', 'attempts', 'expiresAt'))
  -- a hash without a spec (damaged, or written by another version) still runs: as a job of no
  -- registered name, its worker fails it into the failed store, where an operator sees it
  if f[2] and not f[1] then
    f[1] = ''
  end
  -- a damaged expiresAt counts as none: an error here would lose the jobs popped with it
  local expiresAt = f[3] and tonumber(f[3])
  local late = f[1] and expiresAt and expiresAt <= now
  if late and ((tonumber(f[2]) or 0) > 0 or redis.call('HEXISTS', key, 'ran') == 1) then
    -- An attempt of it ran already (its retry, or its run again after a crashed worker or
    -- after a stopping worker handed it back, comes due too late; 'ran' tells the last, whose
    -- attempt was given back): it failed, and keeps the error of the attempt that failed, if any.
    redis.call('HSETNX', key, 'error', cjson.encode({
      code = 'E_JOB_EXPIRED',
      message = 'its expiresAt passed before its next attempt could start',
    }))
    redis.call('HSET', key, 'status', 'failed', 'finishedAt', nowText)
    abandoned[#abandoned + 1] = id
  elseif f[1] then
    if late then
      redis.call('HSET', key, 'error', cjson.encode({
        code = 'E_JOB_EXPIRED',
        message = 'the job was not started before its expiresAt',
      }))
      finishInto(KEYS[8], jobPrefix, id, 'expired', now, keepCount, keepAgeMs)
      expired[#expired + 1] = id
      expired[#expired + 1] = specName(f[1])
    else
      -- a damaged attempts field counts as 0: an error here would leave the jobs marked running
      -- so far in this call without their leases
      local attempt = NEXT_ATTEMPT[f[2]] or tostring((tonumber(f[2]) or 0) + 1)
      redis.call('HSET', key, 'attempts', attempt, 'status', 'running', 'startedAt', nowText, 'worker', worker)
      reservedCount = reservedCount + 1
      leased[2 * reservedCount - 1] = deadline
      leased[2 * reservedCount] = id
      tokens[2 * reservedCount + 1] = id
      tokens[2 * reservedCount + 2] = token
      -- one string per job (payload last, it may hold anything): far fewer reply elements
      -- The time left before expiresAt goes along, as a span: a job reserved ahead of a free slot
      -- may pass it before it starts, and the worker judges that by its own clock, which need
      -- not agree with this server's.
      local left = expiresAt and int(expiresAt - now) or ''
      jobs[reservedCount] = id .. '\n' .. attempt .. '\n' .. left .. '\n' .. f[1]
    end
  end
end

callChunked('ZADD', KEYS[3], leased)
if #tokens > 2 then
  callChunked('HSET', KEYS[9], tokens)
end

-- The jobs failed just now (step 2, step 3) enter the failed set after it is trimmed to make
-- room for them, so a record failed earlier in the same millisecond does not outrank them. More
-- of them than the bound, a rare case, leave the set over it until the next job fails into it.
-- Their records go back with this reply (for their failed() hooks, events and logs): read in a
-- later call, they could be gone (another worker's trim) or the read could fail.
local abandonedRecords = {}
if #abandoned > 0 then
  trimFinished(KEYS[6], jobPrefix, math.max(0, failedCount - #abandoned), 0, now)
  local scored = {}
  for i, id in ipairs(abandoned) do
    scored[2 * i - 1] = nowText
    scored[2 * i] = id
  end
  callChunked('ZADD', KEYS[6], scored)
  for i, id in ipairs(abandoned) do
    abandonedRecords[i] = redis.call('HGETALL', jobPrefix .. id)
  end
end

-- the jobs of an earlier run of this call (step 0) go first: they were first in line
if #again > 0 then
  for i = 1, #jobs do
    again[#again + 1] = jobs[i]
  end
  jobs = again
end

-- what an earlier run of this call settled comes first too, as it happened first; all of it is
-- kept for a run of this call again, should this reply be lost as well (only when there is any:
-- most calls settle nothing and write nothing here). The calls of the latest
-- SETTLED_CALLS_KEPT numbers are kept: a call is sent again within a few of its own (a driver
-- sends its failed calls first), however many calls settled nothing meanwhile.
if earlier then
  abandonedRecords = prepend(earlier.r, abandonedRecords)
  abandoned = prepend(earlier.a, abandoned)
  expired = prepend(earlier.e, expired)
  changed = prepend(earlier.c, changed)
end
if #abandoned > 0 or #expired > 0 or #changed > 0 then
  redis.call('HSET', KEYS[11], ARGV[10], cjson.encode({
    r = abandonedRecords, a = abandoned, e = expired, c = changed,
  }))
  redis.call('PEXPIRE', KEYS[11], keepMs)
  -- checked in O(1) and trimmed in one pass when twice the bound: a few fields per call at most
  if redis.call('HLEN', KEYS[11]) > 2 * SETTLED_CALLS_KEPT then
    local oldest = math.max(tonumber(latest) or 0, tonumber(ARGV[10])) - SETTLED_CALLS_KEPT
    local stale = {}
    for _, number in ipairs(redis.call('HKEYS', KEYS[11])) do
      if (tonumber(number) or 0) <= oldest then
        stale[#stale + 1] = number
      end
    end
    callChunked('HDEL', KEYS[11], stale)
  end
end

-- 4. More work left: wake another worker. Tell the caller when to look again.
if redis.call('ZCARD', KEYS[1]) > 0 then
  signal(KEYS[5])
end
-- Only a caller that got no job waits, so only then is the wake-up time looked up.
local wakeAt = -1
if #jobs == 0 then
  local nextDelayed = redis.call('ZRANGE', KEYS[2], '0', '0', 'WITHSCORES')
  if nextDelayed[2] then
    wakeAt = tonumber(nextDelayed[2])
  end
  local nextDeadline = redis.call('ZRANGE', KEYS[3], '0', '0', 'WITHSCORES')
  if nextDeadline[2] and (wakeAt < 0 or tonumber(nextDeadline[2]) < wakeAt) then
    wakeAt = tonumber(nextDeadline[2])
  end
  -- as the time left: the caller waits by its own clock, which need not agree with this one
  if wakeAt >= 0 then
    wakeAt = math.max(0, wakeAt - now)
  end
end
return { jobs, abandonedRecords, wakeAt, expired, abandoned, changed }
