--[[
  Marks jobs completed, in one call for a batch of acknowledgements.
  KEYS[1] active
  KEYS[2] completed ids, oldest first (a list)
  KEYS[3] completion counter of the current 10-second bucket (for queue:stats)
  KEYS[4] leases    running job id -> lease token; completed job id -> '@' .. finish time
  ARGV[1] job hash prefix
  ARGV[2] completed records to keep (0: delete at once)
  ARGV[3] max age of completed records in ms (0: no age bound)
  ARGV[4]   number of token groups
  then per group: token, count, and that many job ids (jobs reserved in one call share a token)
  then pairs: position of a job among all ids (1-based), its JSON result (only results that
            are not null: most jobs return nothing, and an absent result reads as null)
  Returns per job, in the order of the ids: 1 completed, 0 lease lost (nothing changed).
  The leases of the whole batch are read with one HMGET. A kept record becomes completed
  where its lease was: the field's value turns from the lease token into '@' and the finish
  time (no token starts with '@', so a later ack of the same attempt is refused), and its id
  is appended to the completed list, which keeps the order for trimming and listing. Its hash
  is written only when the job returned a result. So no command runs per job, and none
  parses a score or compares members, as a sorted set's ZADD does.
]]
--!include common

-- Drops the oldest completed records: those beyond `keepCount`, then those that finished
-- `keepAgeMs` ago or earlier. A record is its id at the head of the list, its job hash and
-- its stamp in the leases hash. At most 1,000 go per call, so every call stays short; a
-- lowered bound is reached over the next batches. The age check reads one stamp when the
-- head is not old yet; otherwise it reads the stamps in windows, starting with about what
-- this call added (as many go as come in, once the age bound holds) and doubling while
-- every stamp read is old. Each id is read from the list once.
local function trimCompleted(listKey, leasesKey, jobPrefix, keepCount, keepAgeMs, now, added)
  local drop = math.min(1000, math.max(0, redis.call('LLEN', listKey) - keepCount))
  local dropped = drop > 0 and redis.call('LRANGE', listKey, 0, drop - 1) or {}
  if keepAgeMs > 0 and drop < 1000 then
    local cutoff = now - keepAgeMs
    -- dropped by age: a stamp at or before the cutoff, or nothing (the record is gone). A
    -- lease token means the id runs again (its record was deleted by hand): that one is kept.
    local function old(value)
      if not value then
        return true
      end
      return isStamp(value) and tonumber(string.sub(value, 2)) <= cutoff
    end
    local first = redis.call('LINDEX', listKey, drop)
    if first and old(redis.call('HGET', leasesKey, first)) then
      drop = drop + 1
      dropped[drop] = first
      local window = math.max(16, added + 1)
      while drop < 1000 do
        local next = redis.call('LRANGE', listKey, drop, math.min(999, drop + window - 1))
        if #next == 0 then
          break
        end
        local values = redis.call('HMGET', leasesKey, unpack(next))
        local young = false
        for i = 1, #next do
          if not old(values[i]) then
            young = true
            break
          end
          drop = drop + 1
          dropped[drop] = next[i]
        end
        if young or #next < window then
          break
        end
        window = window * 2
      end
    end
  end
  if drop > 0 then
    local keys = {}
    for i = 1, drop do
      keys[i] = jobPrefix .. dropped[i]
    end
    callChunked('DEL', nil, keys)
    callChunked('HDEL', leasesKey, dropped)
    redis.call('LTRIM', listKey, drop, -1)
  end
end
local jobPrefix = ARGV[1]
local keepCount = tonumber(ARGV[2])
local keepAgeMs = tonumber(ARGV[3])
local now = nowMs()
local stamp = '@' .. tostring(now) -- formatted once, not once per job
-- tables are filled by position, not with t[#t + 1]: in Lua 5.1 each #t is a search
local ids = {}
local tokens = {}
local idCount = 0
local at = 5
for _ = 1, tonumber(ARGV[4]) do
  local token = ARGV[at]
  -- a completion stamp is never a lease token: such a "token" is refused like none
  if isStamp(token) then
    token = ''
  end
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
local stamped = {}
local deleted = {}
-- numeric loops, not ipairs: each ipairs step is a function call in Lua 5.1
for n = 1, idCount do
  local id = ids[n]
  local token = tokens[n]
  -- a second ack of the same job within this batch is refused like a later one
  if token ~= '' and held[n] == token and not seen[id] then
    seen[id] = true
    doneCount = doneCount + 1
    done[doneCount] = id
    if keepCount > 0 then
      local result = results[n]
      if result then
        redis.call('HSET', jobPrefix .. id, 'result', result)
      end
      stamped[2 * doneCount - 1] = id
      stamped[2 * doneCount] = stamp
    else
      deleted[doneCount] = jobPrefix .. id
    end
    out[n] = 1
  else
    out[n] = 0
  end
end
if doneCount > 0 then
  callChunked('ZREM', KEYS[1], done)
  if keepCount > 0 then
    callChunked('HSET', KEYS[4], stamped)
    -- appended at the tail: a push at the head would move the whole list node's bytes
    callChunked('RPUSH', KEYS[2], done)
  else
    callChunked('HDEL', KEYS[4], done)
    callChunked('DEL', nil, deleted)
  end
  redis.call('INCRBY', KEYS[3], doneCount)
  redis.call('PEXPIRE', KEYS[3], 130000)
end
-- also when no records are kept: those kept under an earlier, larger bound still go
trimCompleted(KEYS[2], KEYS[4], jobPrefix, keepCount, keepAgeMs, now, doneCount)
return out
