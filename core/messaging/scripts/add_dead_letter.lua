--[[
  Adds one dead letter, newest first, and trims the list to its limit.
  KEYS[1] the dead-letter list
  ARGV[1] the entry, as JSON text
  ARGV[2] how many entries to keep
  Returns the list's length. A key of another type fails the first call (WRONGTYPE), so
  nothing is written and the caller learns it (a MULTI would report it inside its reply).
]]
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return redis.call('LLEN', KEYS[1])
