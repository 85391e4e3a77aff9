--[[
  Marks jobs completed, in one call for a batch of acknowledgements.
  KEYS[1] active
  KEYS[2] completed
  KEYS[3] completion counter of the current 10-second bucket (for queue:stats)
  ARGV[1] job hash prefix
  ARGV[2] completed records to keep (0: delete at once)
  ARGV[3] max age of completed records in ms (0: no age bound)
  ARGV[4..] triples: id, token, JSON result
  Returns per job: 1 completed, 0 lease lost (nothing changed).
  Per job it runs one HGET and one HSET (or DEL); the sorted-set updates go out as one
  command per batch.
]]
--!include common
local jobPrefix = ARGV[1]
local keepCount = tonumber(ARGV[2])
local keepAgeMs = tonumber(ARGV[3])
local now = nowMs()
local out = {}
local done = {}
local finished = {}
local deleted = {}
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local key = jobPrefix .. id
  local token = ARGV[i + 1]
  if token ~= '' and redis.call('HGET', key, 'token') == token then
    done[#done + 1] = id
    if keepCount > 0 then
      -- an emptied token matches no lease: later acks of this attempt are refused.
      -- A null result (most jobs return nothing) is not stored: an absent result reads as null.
      local result = ARGV[i + 2]
      if result == 'null' then
        redis.call('HSET', key, 'status', 'completed', 'finishedAt', now, 'token', '')
      else
        redis.call('HSET', key, 'status', 'completed', 'finishedAt', now, 'token', '', 'result', result)
      end
      finished[#finished + 1] = now
      finished[#finished + 1] = id
    else
      deleted[#deleted + 1] = key
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #done > 0 then
  callChunked('ZREM', KEYS[1], done)
  callChunked('DEL', nil, deleted)
  callChunked('ZADD', KEYS[2], finished)
  redis.call('INCRBY', KEYS[3], #done)
  redis.call('PEXPIRE', KEYS[3], 130000)
end
if keepCount > 0 then
  trimFinished(KEYS[2], jobPrefix, keepCount, keepAgeMs, now)
end
return out
