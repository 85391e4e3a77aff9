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
  Returns per job: 1 renewed, 2 renewed but a cancel was requested, 0 lease lost. A job whose
  key holds another type (its hash replaced by hand) is answered 0 with nothing written, so its
  handler stops; its lease lapses, and the reserve that reclaims it takes it as gone. The rest
  of the call is renewed (redis.call on that key would fail the call after the renewals made so
  far, and every renewal after it: the worker's other jobs would lose their leases while running).
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
    local key = jobPrefix .. id
    -- read before any write, with pcall (jobFields): none when the key is no hash
    local f = jobFields(key, redis.pcall('HMGET', key, 'cancelRequested'))
    if #f == 0 then
      out[#out + 1] = 0
    else
      redis.call('ZADD', KEYS[1], 'XX', deadline, id)
      if i < startedEnd then
        redis.call('HSET', key, 'ran', token)
      end
      out[#out + 1] = f[1] == '1' and 2 or 1
    end
  else
    out[#out + 1] = 0
  end
end
return out
