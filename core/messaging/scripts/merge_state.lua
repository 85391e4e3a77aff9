--[[
  Shallow-merges JSON fields into one entry of a state hash.
  KEYS[1] the namespace hash
  ARGV[1] entry id
  ARGV[2] fields as a JSON object
  Returns the merged entry as JSON.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
local value = current and cjson.decode(current) or {}
for k, v in pairs(cjson.decode(ARGV[2])) do
  value[k] = v
end
local encoded = cjson.encode(value)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
