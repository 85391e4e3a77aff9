--[[
  Stores the progress of a running job, if the caller still owns it, and notes that the job
  has started (see extend_leases.lua).
  KEYS[1] the job hash
  KEYS[2] leases
  ARGV[1] job id
  ARGV[2] token
  ARGV[3] percent (0-100)
  ARGV[4] message, or '' for none
  ARGV[5] data (JSON), or '' for none
  Returns 1 stored, 0 lease lost. A report replaces the message and data of the last one.
  A job key of another type (its hash replaced by hand) fails the call with WRONGTYPE, its one
  write refused, which the driver reports as E_REDIS_WRONG_TYPE naming the key.
]]
--!include common
if not ownsLease(KEYS[2], ARGV[1], ARGV[2]) then
  return 0
end
local fields = { 'progress', ARGV[3], 'ran', ARGV[2] }
local gone = {}
for i, field in ipairs({ 'progressMessage', 'progressData' }) do
  if ARGV[3 + i] == '' then
    gone[#gone + 1] = field
  else
    fields[#fields + 1] = field
    fields[#fields + 1] = ARGV[3 + i]
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
end
return 1
