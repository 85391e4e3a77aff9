--[[
  Puts running jobs back at the front of their queue without counting the attempt
  (a worker shutting down before they finished).
  KEYS[1] active
  KEYS[2] wait
  KEYS[3] signal
  KEYS[4] cancelled
  KEYS[5] leases
  ARGV[1] job hash prefix
  ARGV[2] finished records to keep
  ARGV[3] max age of finished records in ms
  ARGV[4] how many of the pairs, the first ones, are of jobs whose handler had started: each
          keeps 'ran' (its lease's token, as extend_leases.lua notes it), so that, its attempt
          given back, it still counts as having run when it comes due past its expiresAt
          (reserve_jobs.lua fails it rather than marking it expired)
  ARGV[5..] pairs: id, token, in the order they were reserved (they keep it at the front)
  A job whose cancel was requested while it ran ends cancelled instead of going back.
  Returns per job: 1 released, 2 ended cancelled, 0 lease lost (nothing changed). A release
  run again after its reply was lost gets its first answer from the job ('settled:<token>',
  releaseLeased in common.lua), while the record is kept. A job whose key holds another type
  (its hash replaced by hand) is answered 0 with nothing written (jobFields: logged by Redis);
  its lease lapses, and the reserve that reclaims it takes it as gone. The rest of the call is
  released (redis.call on that key would fail the call after the releases made so far, and every
  try after it). A wait or cancelled set, or signal list, of another type fails the call before
  its first write (WRONGTYPE): the jobs stay leased.
]]
--!include common
local jobPrefix = ARGV[1]
local now = nowMs()
local released = 0
local out = {}
local AGAIN = { ['release:queued'] = 1, ['release:cancelled'] = 2 }
local checked = false
-- the ARGV index past the last pair of a started job
local startedEnd = 5 + 2 * (tonumber(ARGV[4]) or 0)
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local token = ARGV[i + 1]
  local key = jobPrefix .. id
  if not ownsLease(KEYS[5], id, token) then
    out[#out + 1] = AGAIN[settledAnswerOf(key, token)] or 0
  elseif #jobFields(key, redis.pcall('HMGET', key, 'attempts')) == 0 then
    out[#out + 1] = 0
  else
    -- before the first write of the call: a wait or cancelled set (or signal list) of another
    -- type would fail releaseLeased after it took the job out of the active set and its lease
    -- (Redis keeps the writes of a script that fails: the job would be in no set, nor leased)
    if not checked then
      refuseOtherTypes({ KEYS[2], KEYS[4] }, KEYS[3])
      checked = true
    end
    if i < startedEnd then
      redis.call('HSET', key, 'ran', token)
    end
    local outcome = releaseLeased(KEYS[1], KEYS[5], KEYS[2], KEYS[4], jobPrefix, id, token, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
    if outcome == 1 then
      released = released + 1
    end
    out[#out + 1] = outcome
  end
end
if released > 0 then
  signal(KEYS[3])
end
return out
