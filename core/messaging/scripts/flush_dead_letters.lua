--[[
  Deletes the dead-letter list and counts what it held.
  KEYS[1] the dead-letter list
  Returns how many entries it held. A key of another type fails the count (WRONGTYPE)
  before the delete: a value Topiq did not write is left for an operator to look at.
]]
local count = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return count
