--[[
  Reads job records in one call, so no change lands between the parts of one record.
  KEYS[1] leases
  KEYS[2] completed ids, oldest first (a list)
  KEYS[3] completed times, oldest first: 'count:finish ms' per call that kept records
  ARGV[1] job hash prefix
  ARGV[2..] job ids
  Returns per id three elements: the job hash as HGETALL gives it; 1 when the job completed
  (its hash says 'running' and it has no lease, see statusOf in common.lua), else 0; and
  then its finish time, or '' when not completed or not found. A completed job's finish time
  is that of the times entry its place in the ids list falls in, counted from the tail: the
  newest entries account for the newest ids (LPOS scans the list, which retention bounds).
]]
local jobPrefix = ARGV[1]
local out = {}
local times
local total
for i = 2, #ARGV do
  local id = ARGV[i]
  local hash = redis.call('HGETALL', jobPrefix .. id)
  local status
  for k = 1, #hash, 2 do
    if hash[k] == 'status' then
      status = hash[k + 1]
      break
    end
  end
  local completed = 0
  local finished = ''
  if status == 'running' and redis.call('HEXISTS', KEYS[1], id) == 0 then
    completed = 1
    if not times then
      times = redis.call('LRANGE', KEYS[3], 0, -1)
      total = redis.call('LLEN', KEYS[2])
    end
    local index = redis.call('LPOS', KEYS[2], id, 'RANK', -1)
    if index then
      local fromTail = total - 1 - index
      for k = #times, 1, -1 do
        local colon = string.find(times[k], ':', 1, true)
        local count = tonumber(string.sub(times[k], 1, colon - 1))
        if fromTail < count then
          finished = string.sub(times[k], colon + 1)
          break
        end
        fromTail = fromTail - count
      end
    end
  end
  out[#out + 1] = hash
  out[#out + 1] = completed
  out[#out + 1] = finished
end
return out
