--[[
  How long the longest-waiting job of a queue has waited, for queue:stats, without reading
  every waiting job. The wait set is ordered by priority band, then by the sequence a job got
  when it was queued, and a job's queuedAt grows with its sequence, so the oldest waiting job
  of a band is its first job after the handed-back ones (sequence 0, queuedAt when handed
  back), or one of those. The longest-waiting job of the queue is the oldest of the bands' (there are at most
  2,001), which a starved low-priority job then counts in. A delayed job that is due but not yet
  moved to the wait set (no worker has reserved since) waits from its run-at time.
  KEYS[1] wait
  KEYS[2] delayed
  ARGV[1] job hash prefix
  Returns the age in ms (0 when no job waits).
]]
--!include common
local BAND = 2199023255552 -- sequence numbers per priority (see waitScore)
local jobPrefix = ARGV[1]
local now = nowMs()
local oldest = nil
local function consider(at)
  if at and (oldest == nil or at < oldest) then
    oldest = at
  end
end
local function considerQueued(ids)
  for _, id in ipairs(ids) do
    consider(tonumber(redis.call('HGET', jobPrefix .. id, 'queuedAt')))
  end
end

local first = redis.call('ZRANGE', KEYS[1], '0', '0', 'WITHSCORES')
local bands = 0
while first[2] and bands <= 2001 do
  bands = bands + 1
  local base = math.floor(tonumber(first[2]) / BAND) * BAND
  -- Handed-back jobs sort by id, not by when they came back: up to 1,000 of a band are read
  -- (a shutdown hands back a few per worker slot), so past that the answer may be short.
  considerQueued(redis.call('ZRANGEBYSCORE', KEYS[1], int(base), int(base), 'LIMIT', '0', '1000'))
  considerQueued(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(base), '(' .. int(base + BAND), 'LIMIT', '0', '1'))
  first = redis.call('ZRANGEBYSCORE', KEYS[1], int(base + BAND), '+inf', 'WITHSCORES', 'LIMIT', '0', '1')
end

local due = redis.call('ZRANGE', KEYS[2], '0', '0', 'WITHSCORES')
if due[2] and tonumber(due[2]) <= now then
  consider(tonumber(due[2]))
end
if oldest == nil then
  return 0
end
return math.max(0, now - oldest)
