--[[
  Stores the progress of a running job, if the caller still owns it, and notes that the job
  has started (see extend_leases.lua).
  KEYS[1] the job hash
  KEYS[2] leases
  ARGV[1] job id
  ARGV[2] token
  ARGV[3] percent (0-100)
  ARGV[4] message, or '' for none
  Returns 1 stored, 0 lease lost.
]]
--!include common
if not ownsLease(KEYS[2], ARGV[1], ARGV[2]) then
  return 0
end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'ran', ARGV[2])
  redis.call('HDEL', KEYS[1], 'progressMessage')
else
  redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'progressMessage', ARGV[4], 'ran', ARGV[2])
end
return 1
