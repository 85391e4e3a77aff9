--[[
  Marks jobs completed, in one call for a batch of acknowledgements.
  KEYS[1] active
  KEYS[2] completed
  KEYS[3] completion counter of the current 10-second bucket (for queue:stats)
  KEYS[4] leases    running job id -> lease token
  ARGV[1] job hash prefix
  ARGV[2] completed records to keep (0: delete at once)
  ARGV[3] max age of completed records in ms (0: no age bound)
  ARGV[4]   number of token groups
  then per group: token, count, and that many job ids (jobs reserved in one call share a token)
  then pairs: position of a job among all ids (1-based), its JSON result (only results that
            are not null: most jobs return nothing, and an absent result reads as null)
  Returns per job, in the order of the ids: 1 completed, 0 lease lost (nothing changed).
  The leases of the whole batch are read with one HMGET, and a completed job leaves the
  leases hash, so a later ack of the same attempt finds no lease and is refused. A kept
  record becomes completed by its entry in the completed set, scored by the finish time;
  its hash is written only when the job returned a result. So no command runs per job.
]]
--!include common
local jobPrefix = ARGV[1]
local keepCount = tonumber(ARGV[2])
local keepAgeMs = tonumber(ARGV[3])
local now = nowMs()
local nowText = tostring(now) -- formatted once, not once per job
-- tables are filled by position, not with t[#t + 1]: in Lua 5.1 each #t is a search
local ids = {}
local tokens = {}
local idCount = 0
local at = 5
for _ = 1, tonumber(ARGV[4]) do
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
for first = 1, #ids, 1000 do
  local tokens = redis.call('HMGET', KEYS[4], unpack(ids, first, math.min(#ids, first + 999)))
  for j = 1, #tokens do
    held[first + j - 1] = tokens[j]
  end
end
local out = {}
local seen = {}
local done = {}
local doneCount = 0
local finished = {}
local deleted = {}
for n, id in ipairs(ids) do
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
      finished[2 * doneCount - 1] = nowText
      finished[2 * doneCount] = id
    else
      deleted[doneCount] = jobPrefix .. id
    end
    out[n] = 1
  else
    out[n] = 0
  end
end
if #done > 0 then
  callChunked('ZREM', KEYS[1], done)
  callChunked('HDEL', KEYS[4], done)
  callChunked('DEL', nil, deleted)
  callChunked('ZADD', KEYS[2], finished)
  redis.call('INCRBY', KEYS[3], #done)
  redis.call('PEXPIRE', KEYS[3], 130000)
end
if keepCount > 0 then
  trimFinished(KEYS[2], jobPrefix, keepCount, keepAgeMs, now)
end
return out
