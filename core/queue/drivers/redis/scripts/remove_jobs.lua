--[[
  Deletes jobs held in one set (failed records, or waiting/delayed jobs for queue:clear)
  together with their hashes.
  KEYS[1] the set (failed, wait or delayed)
  ARGV[1] job hash prefix
  ARGV[2] 'ids' to take ARGV[4..], or 'before' to take up to 1000 scored below ARGV[3]
  ARGV[3] cutoff score ('+inf' for all)
  Returns how many were deleted (callers repeat 'before' until it returns less than 1000).
]]
--!include common
local jobPrefix = ARGV[1]
local ids = selectIds(KEYS[1], ARGV[2], ARGV[3], 4)
local removed = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('DEL', jobPrefix .. id)
    removed = removed + 1
  end
end
return removed
