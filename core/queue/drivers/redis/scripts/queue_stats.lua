--[[
  The figures queue:stats adds to a queue's counts, in one call on the server's clock: the jobs
  completed in the last 60-70 s (the 10-second buckets complete_jobs.lua counts in: the current
  one and the six before it), and how long the longest-waiting job has waited, without reading
  every waiting job. The wait set is ordered by priority band (2^41 scores each, see waitScore
  in common.lua). A band's first 2^32 scores hold the jobs handed back to its front, in the
  order they came back (queuedAt is when they did); the rest hold queued jobs in the order
  they were queued. So the longest-waiting job of a band is the first of one of the two, and
  that of the queue the oldest of the bands' (there are at most 2,001), which a starved
  low-priority job then counts in. A delayed job that is due but not yet moved to the wait set
  (no worker has reserved since) waits from its run-at time, as one moved does (reserve_jobs.lua
  queues it as of that time, behind the jobs queued before the move: in the rare case that it
  came due before them, with no worker reserving meanwhile, its wait shows once they are taken).
  KEYS[1] wait
  KEYS[2] delayed
  ARGV[1] job hash prefix
  ARGV[2] prefix of the completion buckets
  Returns { jobs completed in the last 60-70 s, the longest wait in ms (0 when no job waits) }.
]]
--!include common
local jobPrefix = ARGV[1]
local now = nowMs()
local oldest = nil
local function considerQueued(ids)
  for _, id in ipairs(ids) do
    local at = tonumber(redis.call('HGET', jobPrefix .. id, 'queuedAt'))
    if at and (oldest == nil or at < oldest) then
      oldest = at
    end
  end
end

local first = redis.call('ZRANGE', KEYS[1], '0', '0', 'WITHSCORES')
local bands = 0
while first[2] and bands <= 2001 do
  bands = bands + 1
  local base = math.floor(tonumber(first[2]) / WAIT_BAND) * WAIT_BAND
  local queued = int(base + WAIT_FRONT)
  considerQueued(redis.call('ZRANGEBYSCORE', KEYS[1], int(base), '(' .. queued, 'LIMIT', '0', '1'))
  considerQueued(redis.call('ZRANGEBYSCORE', KEYS[1], queued, '(' .. int(base + WAIT_BAND), 'LIMIT', '0', '1'))
  first = redis.call('ZRANGEBYSCORE', KEYS[1], int(base + WAIT_BAND), '+inf', 'WITHSCORES', 'LIMIT', '0', '1')
end

local due = redis.call('ZRANGE', KEYS[2], '0', '0', 'WITHSCORES')
if due[2] and tonumber(due[2]) <= now and (oldest == nil or tonumber(due[2]) < oldest) then
  oldest = tonumber(due[2])
end
local bucket = math.floor(now / 10000)
local buckets = {}
for back = 0, 6 do
  buckets[back + 1] = ARGV[2] .. int(bucket - back)
end
local completed = 0
for _, count in ipairs(redis.call('MGET', unpack(buckets))) do
  completed = completed + (tonumber(count) or 0)
end
return { completed, oldest == nil and 0 or math.max(0, now - oldest) }
