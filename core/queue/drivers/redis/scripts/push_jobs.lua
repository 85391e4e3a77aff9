--[[
  Adds jobs to a queue in one call (dispatch and dispatchMany).
  KEYS[1] wait      ready jobs
  KEYS[2] delayed   scheduled jobs
  KEYS[3] pending   jobs on hold
  KEYS[4] seq       FIFO sequence counter
  KEYS[5] signal    worker wake-up list
  ARGV[1]           job hash prefix
  ARGV[2..]         11 values per job: id, name, payload, maxTries, priority, runAt, expiresAt, hold,
                    owner, description, pushToken ('' for none)
  Returns one integer per job: 1 added queued, 2 added delayed, 3 added pending (on hold),
  0 an existing job has that id (left unchanged). A job that exists because this same push
  added it on an earlier try (its pushToken matches: the try failed in another queue, or its
  reply was lost) is answered the status it was added in then (1, 2 or 3), not 0. A job whose
  key holds another type (set by hand, or by another program) is answered 4 and not added: it is
  no job of that id, and the driver refuses it with E_REDIS_WRONG_TYPE, naming the key, once the
  rest of the push is stored (sent again, they are answered by their pushToken).
  A pushToken of '=' is the id itself (an id generated for this job alone; not sent twice): it
  is not stored, and a hash without the field matches it. Any other is stored as the field
  pushToken.
  The fields a worker needs to run the job are stored together in `spec`, as reserve_jobs
  returns them: "name\nmaxTries\npriority\ncreatedAt\npayload" (scripts that need maxTries
  or priority read them from it: specNumbers in common.lua). A new job's hash holds only
  spec, attempts, status, the times, the labels (owner, description) and the pushToken that
  apply; progress 0 is its absence.
]]
--!include common
local jobPrefix = ARGV[1]
local count = (#ARGV - 1) / 11
local now = nowMs()
local nowText = int(now) -- formatted once, not once per job (see int in common.lua)
local seq = redis.call('INCRBY', KEYS[4], int(count)) - count
local out = {}
local wake = false

-- What an earlier try of this push answered for the job stored at `key`: 1, 2 or 3 when
-- its pushToken matches the one stored, judged as that try judged it (hold, then runAt
-- against the createdAt it stamped); else 0; 4 when the key holds another type (no job at all).
local function earlierAnswer(key, token, runAt, hold)
  local fields = redis.pcall('HMGET', key, 'pushToken', 'spec')
  if fields.err then
    return 4
  end
  if token == '' or (fields[1] or '=') ~= token then
    return 0
  end
  if hold == '1' then
    return 3
  end
  local createdAt = string.match(fields[2] or '', '^[^\n]*\n[^\n]*\n[^\n]*\n([^\n]*)\n')
  if runAt > (tonumber(createdAt) or 0) then
    return 2
  end
  return 1
end

for i = 0, count - 1 do
  local b = 2 + i * 11
  local id = ARGV[b]
  local key = jobPrefix .. id
  if redis.call('EXISTS', key) == 1 then
    out[#out + 1] = earlierAnswer(key, ARGV[b + 10], tonumber(ARGV[b + 5]), ARGV[b + 7])
  else
    local runAt = tonumber(ARGV[b + 5])
    local status = 'queued'
    if ARGV[b + 7] == '1' then
      status = 'pending'
      redis.call('ZADD', KEYS[3], nowText, id)
    elseif runAt > now then
      status = 'delayed'
      -- its order number: jobs due at one time are queued in the order they were delayed
      seq = seq + 1
      redis.call('ZADD', KEYS[2], ARGV[b + 5], id)
      wake = true
    else
      seq = seq + 1
      redis.call('ZADD', KEYS[1], waitScore(ARGV[b + 4], seq), id)
      wake = true
    end
    -- A small hash is a listpack, searched front to back: the fields reserve_jobs reads and
    -- writes for every job come first. Numbers go in as strings: Lua formats a number
    -- argument with sprintf on every call.
    local fields = {
      'spec', ARGV[b + 1] .. '\n' .. ARGV[b + 3] .. '\n' .. ARGV[b + 4] .. '\n' .. nowText .. '\n' .. ARGV[b + 2],
      'attempts', '0', 'status', status,
    }
    if ARGV[b + 6] ~= '0' then
      fields[#fields + 1] = 'expiresAt'
      fields[#fields + 1] = ARGV[b + 6]
    end
    if runAt > 0 then
      fields[#fields + 1] = 'runAt'
      fields[#fields + 1] = ARGV[b + 5]
    end
    if status == 'queued' then
      fields[#fields + 1] = 'queuedAt'
      fields[#fields + 1] = nowText
    elseif status == 'delayed' then
      fields[#fields + 1] = 'delayedSeq'
      fields[#fields + 1] = int(seq)
    end
    if ARGV[b + 8] ~= '' then
      fields[#fields + 1] = 'owner'
      fields[#fields + 1] = ARGV[b + 8]
    end
    if ARGV[b + 9] ~= '' then
      fields[#fields + 1] = 'description'
      fields[#fields + 1] = ARGV[b + 9]
    end
    if ARGV[b + 10] ~= '' and ARGV[b + 10] ~= '=' then
      fields[#fields + 1] = 'pushToken'
      fields[#fields + 1] = ARGV[b + 10]
    end
    redis.call('HSET', key, unpack(fields))
    out[#out + 1] = status == 'queued' and 1 or status == 'delayed' and 2 or 3
  end
end

if wake then
  signal(KEYS[5])
end
return out
