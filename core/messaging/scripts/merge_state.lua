--[[
  Shallow-merges fields into one entry of a state hash.
  KEYS[1] the namespace hash
  ARGV[1] entry id
  ARGV[2] the most fields an entry may hold
  ARGV[3] the most bytes its field names and JSON texts may take together
  ARGV[4..] pairs: a field name, its value as JSON text
  An entry is stored as 'v2:' followed by a JSON object of field name -> that field's JSON
  text, kept as it came: its values read back exactly as they were written. (Decoded and
  encoded again by cjson, an empty array would come back as {} and a number would be rounded
  to 14 digits.) An entry of the first layout, the object itself, is read with cjson once and
  stored in this one.
  Returns the stored text, or the error 'TOPIQ_STATE_TOO_LARGE <fields> <bytes>' when the
  merged entry would pass either limit and be larger than it was (then nothing is written: an
  entry already past one, stored before the limits, still takes merges that do not grow it).
  Sizes are of the names and texts as given (not cjson's encoding of the entry, which escapes
  '/'), so the memory store measures the same.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
local fields = {}
if current then
  if string.sub(current, 1, 3) == 'v2:' then
    fields = cjson.decode(string.sub(current, 4))
  else
    for name, value in pairs(cjson.decode(current)) do
      fields[name] = cjson.encode(value)
    end
  end
end
-- how many fields, and bytes of names and texts
local function size()
  local count, bytes = 0, 0
  for name, text in pairs(fields) do
    count = count + 1
    bytes = bytes + #name + #text
  end
  return count, bytes
end
local countBefore, bytesBefore = size()
for i = 4, #ARGV, 2 do
  fields[ARGV[i]] = ARGV[i + 1]
end
local count, bytes = size()
if (count > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3])) and (count > countBefore or bytes > bytesBefore) then
  return redis.error_reply('TOPIQ_STATE_TOO_LARGE ' .. count .. ' ' .. bytes)
end
local encoded = 'v2:' .. cjson.encode(fields)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
