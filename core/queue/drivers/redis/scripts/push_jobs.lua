--[[
  Adds jobs to a queue in one call (dispatch and dispatchMany).
  KEYS[1] wait      ready jobs
  KEYS[2] delayed   scheduled jobs
  KEYS[3] pending   jobs on hold
  KEYS[4] seq       FIFO sequence counter
  KEYS[5] signal    worker wake-up list
  ARGV[1]           job hash prefix
  ARGV[2..]         10 values per job: id, name, payload, maxTries, priority, runAt, expiresAt, hold,
                    owner, description ('' for none)
  Returns one integer per job: 1 added queued, 2 added delayed, 3 added pending (on hold),
  0 an existing job has that id (left unchanged).
  The fields a worker needs to run the job are stored together in `spec`, as reserve_jobs
  returns them: "name\nmaxTries\npriority\ncreatedAt\npayload" (scripts that need maxTries
  or priority read them from it: specNumbers in common.lua). A new job's hash holds only
  spec, attempts, status, the times and the labels (owner, description) that apply; progress 0
  is its absence.
]]
--!include common
local jobPrefix = ARGV[1]
local count = (#ARGV - 1) / 10
local now = nowMs()
local nowText = int(now) -- formatted once, not once per job (see int in common.lua)
local seq = redis.call('INCRBY', KEYS[4], int(count)) - count
local out = {}
local wake = false

for i = 0, count - 1 do
  local b = 2 + i * 10
  local id = ARGV[b]
  local key = jobPrefix .. id
  if redis.call('EXISTS', key) == 1 then
    out[#out + 1] = 0
  else
    local runAt = tonumber(ARGV[b + 5])
    local status = 'queued'
    if ARGV[b + 7] == '1' then
      status = 'pending'
      redis.call('ZADD', KEYS[3], nowText, id)
    elseif runAt > now then
      status = 'delayed'
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
    end
    if ARGV[b + 8] ~= '' then
      fields[#fields + 1] = 'owner'
      fields[#fields + 1] = ARGV[b + 8]
    end
    if ARGV[b + 9] ~= '' then
      fields[#fields + 1] = 'description'
      fields[#fields + 1] = ARGV[b + 9]
    end
    redis.call('HSET', key, unpack(fields))
    out[#out + 1] = status == 'queued' and 1 or status == 'delayed' and 2 or 3
  end
end

if wake then
  signal(KEYS[5])
end
return out
