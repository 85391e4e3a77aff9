--[[
  Stores the progress of a running job, if the caller still owns it.
  KEYS[1] the job hash
  ARGV[1] token
  ARGV[2] percent (0-100)
  ARGV[3] message, or '' for none
  Returns 1 stored, 0 lease lost.
]]
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'progress', ARGV[2])
  redis.call('HDEL', KEYS[1], 'progressMessage')
else
  redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'progressMessage', ARGV[3])
end
return 1
