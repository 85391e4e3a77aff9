--[[
  Records one hit in a sliding-window log when the key is under its limit.
  The log is a sorted set of the allowed hits, scored by Redis TIME in microseconds,
  so every process shares one clock. Refused hits are not recorded: the set never
  holds more than `limit` members.
  KEYS[1] the sorted set of hit times of one key and window (the window is in the key's
          name, so every hit on this set trims and expires it by the same window)
  ARGV[1] limit: hits allowed per window (integer >= 1)
  ARGV[2] window in milliseconds (integer >= 1), the one in KEYS[1]
  ARGV[3] a token unique to this hit, making its member unique
  Returns { allowed (1 or 0), remaining, retryAfterMs (0 when allowed) }.
]]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
-- Scores go to Redis as '%.0f' strings: Lua's default number formatting keeps only
-- 14 digits, and microseconds since the epoch have 16.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), time[1] .. '.' .. time[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return { 1, limit - count - 1, 0 }
end
-- The hit whose expiry brings the count below the limit (the oldest, unless the limit
-- was lowered since the key's hits were counted).
local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local retry = math.ceil((tonumber(freeing[2]) + window - now) / 1000)
return { 0, 0, math.max(1, retry) }
