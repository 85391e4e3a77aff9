--[[
  Keeps the set of live workers on this server's clock, the one clock every worker shares: a
  worker's entry is scored by the end of its latest heartbeat's life, and those past it (a
  worker that stopped beating: killed, crashed, cut off) are dropped on every call, so the
  set holds no more than the workers alive in the last heartbeat TTL.
  KEYS[1] workers set
  ARGV[1] id of the worker beating now, or '' for a read
  ARGV[2] its heartbeat's time to live in ms
  Returns the ids of the live workers on a read, nothing on a heartbeat.
]]
--!include common
local now = nowMs()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now))
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], int(now + tonumber(ARGV[2])), ARGV[1])
  return nil
end
return redis.call('ZRANGE', KEYS[1], '0', '-1')
