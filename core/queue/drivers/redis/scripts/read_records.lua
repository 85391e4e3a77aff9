--[[
  Reads job records in one call, so no change lands between the parts of one record.
  KEYS[1] leases
  KEYS[2] completed ids, oldest first (a list)
  KEYS[3] completed times, oldest first: 'count:finish ms' per call that kept records
  KEYS[4] ('range' only) the sorted set of one status
  ARGV[1] job hash prefix
  ARGV[2] 'ids': the records of the ids in ARGV[3..]; or 'page': of the completed ids ARGV[4]
          long from ARGV[3] places below the newest (offset, limit), newest first; or 'range':
          of the members of KEYS[4] ARGV[4] long from place ARGV[3] (offset, limit), lowest
          score first, or highest first when ARGV[5] is 'rev'. Read in the same call as the
          records, so each record read is of a job still in the set (one read the call before
          may have moved to another status since).
  Returns per record four elements: its id; the job hash as HGETALL gives it; 1 when the job
  completed (its hash says 'running' and it has no lease: completedWith in common.lua), else
  0; and then its finish time, or '' when not completed or not found. A completed job's finish
  time is that of the times entry its place in the ids list falls in, counted from the tail:
  the newest entries account for the newest ids. Given ids, LPOS finds that place, scanning the
  ids list from the tail; a page knows it, so a page deep in a long list costs no scan. The
  times list is read from the tail in growing windows only as deep as the records asked for
  lie, so reading recent records stays cheap however many are kept. A job whose key holds
  another type (its hash replaced by hand) is read as no record, an empty hash (jobFields:
  logged by Redis), so the other records of the call are still read.
]]
--!include common
local jobPrefix = ARGV[1]
local out = {}
local total
-- the times entries read so far, newest first, with the ids they cover from the tail
local counts = {}
local times = {}
local covered = 0
local read = 0
local window = 16
local exhausted = false

-- The finish time of the id `fromTail` places from the tail of the ids list (0: the last).
local function finishTime(fromTail)
  while covered <= fromTail and not exhausted do
    local entries = redis.call('LRANGE', KEYS[3], -(read + window), -(read + 1))
    for k = #entries, 1, -1 do
      local count, at = timesEntry(entries[k])
      read = read + 1
      counts[read] = count
      -- 0: ids kept without a time (see complete_jobs.lua)
      times[read] = at == '0' and '' or at
      covered = covered + count
    end
    exhausted = #entries < window
    window = window * 2
  end
  local first = 0
  for k = 1, read do
    if fromTail < first + counts[k] then
      return times[k]
    end
    first = first + counts[k]
  end
  return ''
end

-- the ids to read, and for a page the place of each from the tail of the completed list
local ids = {}
local places = {}
if ARGV[2] == 'page' then
  local offset = tonumber(ARGV[3])
  local limit = tonumber(ARGV[4])
  local page = redis.call('LRANGE', KEYS[2], -(offset + limit), -(offset + 1))
  for k = #page, 1, -1 do
    ids[#ids + 1] = page[k]
    places[#ids] = offset + #ids - 1
  end
elseif ARGV[2] == 'range' then
  local start = tonumber(ARGV[3])
  local stop = start + tonumber(ARGV[4]) - 1
  if ARGV[5] == 'rev' then
    ids = redis.call('ZREVRANGE', KEYS[4], start, stop)
  else
    ids = redis.call('ZRANGE', KEYS[4], start, stop)
  end
else
  for i = 3, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
end

for i, id in ipairs(ids) do
  local hash = jobFields(jobPrefix .. id, redis.pcall('HGETALL', jobPrefix .. id))
  local status
  for k = 1, #hash, 2 do
    if hash[k] == 'status' then
      status = hash[k + 1]
      break
    end
  end
  local completed = 0
  local finished = ''
  if completedWith(status, id, KEYS[1]) then
    completed = 1
    local fromTail = places[i]
    if not fromTail then
      total = total or redis.call('LLEN', KEYS[2])
      local index = redis.call('LPOS', KEYS[2], id, 'RANK', -1)
      fromTail = index and total - 1 - index
    end
    if fromTail then
      finished = finishTime(fromTail)
    end
  end
  out[#out + 1] = id
  out[#out + 1] = hash
  out[#out + 1] = completed
  out[#out + 1] = finished
end
return out
