--[[
  Renews the leases of running jobs that the caller still owns, and notes which of them have
  started: the lease of a job known to have started counts its attempt when it ends (its
  worker died while running it), that of one never known to have started gives the attempt
  back (reserve_jobs.lua, step 2).
  KEYS[1] active
  KEYS[2] leases
  ARGV[1] job hash prefix
  ARGV[2] lease length in ms
  ARGV[3] how many of the leases, the first ones, are of jobs whose handler has started
  ARGV[4..] pairs: id, token
  Returns per job: 1 renewed, 2 renewed but a cancel was requested, 0 lease lost.
]]
--!include common
local jobPrefix = ARGV[1]
local deadline = int(math.ceil(nowMs() + tonumber(ARGV[2])))
-- the ARGV index past the last pair of a started job
local startedEnd = 4 + 2 * (tonumber(ARGV[3]) or 0)
local out = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local token = ARGV[i + 1]
  if ownsLease(KEYS[2], id, token) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
    if i < startedEnd then
      redis.call('HSET', jobPrefix .. id, 'ran', token)
    end
    out[#out + 1] = redis.call('HGET', jobPrefix .. id, 'cancelRequested') == '1' and 2 or 1
  else
    out[#out + 1] = 0
  end
end
return out
