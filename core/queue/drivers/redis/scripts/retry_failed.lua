--[[
  Moves failed jobs back to the queue with their attempts reset.
  KEYS[1] failed
  KEYS[2] wait
  KEYS[3] seq
  KEYS[4] signal
  ARGV[1] job hash prefix
  ARGV[2] 'ids' to take ARGV[4..], or 'before' to take up to 1000 failed before ARGV[3] (ms)
  ARGV[3] cutoff epoch ms (for 'before'; '+inf' for all)
  Returns { {id, name, ... of the jobs moved}, how many members were taken off the set }. A
  member whose record is gone is dropped without being moved, so callers repeat 'before' while
  a call takes 1000, not while it moves 1000.
]]
--!include common
local jobPrefix = ARGV[1]
local ids = selectIds(KEYS[1], ARGV[2], ARGV[3], 4)
local nowText = int(nowMs())
local moved = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    local key = jobPrefix .. id
    local f = redis.call('HMGET', key, 'spec', 'attempts')
    if f[1] or f[2] then
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
      redis.call('ZADD', KEYS[2], waitScore(specPriority(f[1]), redis.call('INCR', KEYS[3])), id)
      moved[#moved + 1] = id
      moved[#moved + 1] = specName(f[1])
    end
  end
end
if #moved > 0 then
  signal(KEYS[4])
end
return { moved, #ids }
