--[[
  Marks jobs completed, in one call for a batch of acknowledgements.
  KEYS[1] active
  KEYS[2] completed ids, oldest first (a list)
  KEYS[3] prefix of the 10-second completion counters (for queue:stats): the counter of the
          bucket this server's clock is in is KEYS[3] .. floor(ms / 10000), in KEYS[1]'s slot
  KEYS[4] leases     running job id -> lease token
  KEYS[5] completed times, oldest first (a list): 'count:finish ms' per call that kept
          records, the counts summing to the length of KEYS[2]
  KEYS[6] the answers of the calling driver's latest complete calls on this queue (a hash:
          call number -> one digit per job, as returned; 'floor': answers up to this number
          are deleted)
  ARGV[1] job hash prefix
  ARGV[2] completed records to keep (0: delete at once)
  ARGV[3] max age of completed records in ms (0: no age bound)
  ARGV[4] the number of this call among the calling driver's on this queue (1, 2, ...)
  ARGV[5] the lowest number of the driver's calls on this queue that failed and have not been
          sent again (0: none): their answers are kept until they are
  ARGV[6]   number of token groups
  then per group: token, count, and that many job ids (jobs reserved in one call share a token)
  then pairs: position of a job among all ids (1-based), its JSON result (only results that
            are not null: most jobs return nothing, and an absent result reads as null)
  Returns a string of one digit per job, in the order of the ids: 1 completed, 0 lease lost
  (nothing changed). A call that ran already (its reply lost on the way) returns what its first
  run returned. (A string, not numbers: table.concat formats each number with a slow sprintf.)
  The leases of the whole batch are read with one HMGET and deleted with one HDEL, so a
  later ack of the same attempt is refused. A kept record is the job's hash as its last
  attempt left it ('running', with no lease: statusOf in common.lua), its id appended to the
  completed list, which keeps the order for trimming and listing, and this call's entry in
  the times list, which gives its finish time. Its hash is written only when the job returned
  a result. So no command runs per job, and nothing is written per job but the list entry.
]]
--!include common

-- Drops the oldest completed records: those beyond `keepCount`, then those that finished
-- `keepAgeMs` ago or earlier. A record is its id at the head of the ids list and its job
-- hash; the times list says how many ids each call added and when. At most 1,000 go per
-- call, so every call stays short; a lowered bound is reached over the next batches. The
-- times are read in windows from the head, starting small and doubling, until one is kept.
local function trimCompleted(idsKey, timesKey, jobPrefix, keepCount, keepAgeMs, now)
  local total = redis.call('LLEN', idsKey)
  if total == 0 then
    -- entries without ids (the ids list deleted by hand) would date the next records
    redis.call('DEL', timesKey)
    return
  end
  local over = math.max(0, total - keepCount)
  local cutoff = keepAgeMs > 0 and now - keepAgeMs or nil
  local drop = 0 -- ids to drop from the head
  local whole = 0 -- entries of the times list dropped whole
  local rest = nil -- the first entry kept, when this call takes part of its ids
  local from = 0
  local window = 8
  local done = false
  while not done and drop < 1000 do
    local entries = redis.call('LRANGE', timesKey, int(from), int(from + window - 1))
    for i = 1, #entries do
      local count, at = timesEntry(entries[i])
      local take
      -- an entry damaged by hand accounts for no id and goes
      if count == 0 or cutoff and (tonumber(at) or 0) <= cutoff then
        take = count
      else
        take = math.min(count, over - drop)
      end
      take = math.min(take, 1000 - drop)
      if take <= 0 and count > 0 then
        done = true
        break
      end
      drop = drop + take
      if take < count then
        rest = int(count - take) .. ':' .. at
        done = true
        break
      end
      whole = whole + 1
    end
    if #entries < window then
      done = true
    end
    from = from + #entries
    window = window * 2
  end
  -- ids no entry accounts for (the times list lost or cut by hand) go by the count bound
  if done and rest == nil and drop < over and from == whole then
    drop = math.min(1000, over)
  end
  if drop > 0 then
    local dropped = redis.call('LRANGE', idsKey, '0', int(drop - 1))
    local keys = {}
    for i = 1, #dropped do
      keys[i] = jobPrefix .. dropped[i]
    end
    callChunked('DEL', nil, keys)
    redis.call('LTRIM', idsKey, int(drop), '-1')
  end
  if whole > 0 then
    redis.call('LTRIM', timesKey, int(whole), '-1')
  end
  if rest then
    redis.call('LSET', timesKey, '0', rest)
  end
end
-- 0. A call that ran already: ioredis sends a command again after a reconnection when its
-- reply was lost on the way, and a driver whose call failed sends it again under the same
-- number. Its first run completed the jobs and deleted their leases, so running it again would
-- report every job lost, and the worker would miss their `completed` events. It gets the first
-- run's answer instead. The answers of the latest 64 calls are kept, and of any call that
-- failed and has not been sent again, up to 10,000 calls back, for ten minutes after the last:
-- other workers on the same driver may make many calls while one waits to send its batch again.
local call = ARGV[4]
local kept = redis.call('HMGET', KEYS[6], call, 'floor')
if kept[1] then
  return kept[1]
end
-- Before the first write, the keys written after the jobs leave the active set (the HMGET
-- above and the leases' read below check theirs): a list of another type met after the ZREM
-- would fail the call with the jobs out of the active set and their leases gone, their ids in
-- no completed list (never trimmed), and every try of the batch after it refused as lost.
refuseOtherTypes({ KEYS[1] }, KEYS[2])
redis.call('LLEN', KEYS[5])
local jobPrefix = ARGV[1]
local keepCount = tonumber(ARGV[2])
local keepAgeMs = tonumber(ARGV[3])
local now = nowMs()
-- tables are filled by position, not with t[#t + 1]: in Lua 5.1 each #t is a search
local ids = {}
local tokens = {}
local idCount = 0
local at = 7
for _ = 1, tonumber(ARGV[6]) do
  local token = ARGV[at]
  local count = tonumber(ARGV[at + 1])
  for k = at + 2, at + 1 + count do
    idCount = idCount + 1
    ids[idCount] = ARGV[k]
    tokens[idCount] = token
  end
  at = at + 2 + count
end
local results = {}
for k = at, #ARGV, 2 do
  results[tonumber(ARGV[k])] = ARGV[k + 1]
end
local held = {}
for first = 1, idCount, 1000 do
  local leases = redis.call('HMGET', KEYS[4], unpack(ids, first, math.min(idCount, first + 999)))
  for j = 1, #leases do
    held[first + j - 1] = leases[j]
  end
end
local out = {}
local seen = {}
local done = {}
local doneCount = 0
local deleted = {}
-- numeric loops, not ipairs: each ipairs step is a function call in Lua 5.1
for n = 1, idCount do
  local id = ids[n]
  local token = tokens[n]
  -- a second ack of the same job within this batch is refused like a later one
  if token ~= '' and held[n] == token and not seen[id] then
    seen[id] = true
    -- pcall: a job key of another type (replaced by hand) would fail the call after the writes
    -- made so far, and every try of the batch after it; that job is answered as not completed
    -- (its lease ends, and the reserve that reclaims it takes it as gone), the rest complete
    local stored = true
    local result = results[n]
    if keepCount > 0 and result then
      local reply = redis.pcall('HSET', jobPrefix .. id, 'result', result)
      stored = type(reply) ~= 'table' or not reply.err
    end
    if stored then
      doneCount = doneCount + 1
      done[doneCount] = id
      if keepCount <= 0 then
        deleted[doneCount] = jobPrefix .. id
      end
      out[n] = '1'
    else
      out[n] = '0'
    end
  else
    out[n] = '0'
  end
end
if doneCount > 0 then
  callChunked('ZREM', KEYS[1], done)
  callChunked('HDEL', KEYS[4], done)
  if keepCount > 0 then
    -- appended at the tail: a push at the head would move the whole list node's bytes
    local idsLength = callChunked('RPUSH', KEYS[2], done)
    local timesLength = redis.call('RPUSH', KEYS[5], int(doneCount) .. ':' .. int(now))
    -- The lists agree unless one was deleted by hand (or the ids were kept by an earlier
    -- layout): then entries without ids go, and ids without an entry get one of no time (0),
    -- which the age bound counts as old. In step, this costs no command.
    if idsLength == doneCount and timesLength > 1 then
      redis.call('LTRIM', KEYS[5], '-1', '-1')
    elseif timesLength == 1 and idsLength > doneCount then
      redis.call('LPUSH', KEYS[5], int(idsLength - doneCount) .. ':0')
    end
  else
    callChunked('DEL', nil, deleted)
  end
  local bucket = KEYS[3] .. int(math.floor(now / 10000))
  -- pcall: a counter of queue:stats only; one damaged by hand must not fail the call after
  -- the jobs completed
  redis.pcall('INCRBY', bucket, int(doneCount))
  redis.call('PEXPIRE', bucket, '130000')
end
-- also when no records are kept: those kept under an earlier, larger bound still go
trimCompleted(KEYS[2], KEYS[5], jobPrefix, keepCount, keepAgeMs, now)
local answer = table.concat(out)
-- Answers up to `upTo` go: those 64 calls back or more, unless a call that waits to be sent
-- again needs them, and always those 10,000 back; at most 1,000 per call, from 'floor' on.
local number = tonumber(call)
local upTo = number - 64
local waiting = tonumber(ARGV[5])
if waiting > 0 and waiting <= upTo then
  upTo = math.max(waiting - 1, number - 10000)
end
local floor = tonumber(kept[2])
if not floor then
  floor = math.max(0, upTo - 1) -- a new hash: nothing older to delete
end
if upTo > floor then
  local last = math.min(upTo, floor + 1000)
  local gone = {}
  for n = floor + 1, last do
    gone[n - floor] = int(n)
  end
  redis.call('HDEL', KEYS[6], unpack(gone))
  floor = last
end
redis.call('HSET', KEYS[6], call, answer, 'floor', int(floor))
redis.call('PEXPIRE', KEYS[6], '600000')
return answer
