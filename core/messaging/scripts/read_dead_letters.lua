--[[
  Reads one page of dead letters, newest first, going on after the page before it.
  KEYS[1] the dead-letter list
  ARGV[1] how many entries to read
  ARGV[2] where the page before ended: the index just past its last entry when it was read
          (0 for a first page)
  ARGV[3] that last entry, as stored ('' for a first page)
  Returns the index the page starts at now, then its entries; the index alone when the page
  before's last entry is gone.
  The list changes while it is read: a dead letter added since is pushed at the head, moving
  every entry away from it, and past the limit the oldest are trimmed at the tail. So a page
  goes on after the entry the page before ended with, wherever that now is (an entry only moves
  away from the head), never at a fixed index, which would read entries again. When that entry
  is gone (trimmed, so every older one is too, or the list flushed) nothing is left to read. A
  dead letter's text holds its random id, so it is found once; of equal texts (pushed by hand),
  the first at or past its old place is taken. A key of another type fails (WRONGTYPE).
]]
local count = tonumber(ARGV[1])
local start = tonumber(ARGV[2])
if ARGV[3] ~= '' then
  local last = start - 1
  -- false (no such index) never equals a string
  if redis.call('LINDEX', KEYS[1], last) ~= ARGV[3] then
    local found = nil
    for _, place in ipairs(redis.call('LPOS', KEYS[1], ARGV[3], 'COUNT', 0)) do
      if place >= last then
        found = place
        break
      end
    end
    if found == nil then
      return { start }
    end
    last = found
  end
  start = last + 1
end
local page = redis.call('LRANGE', KEYS[1], start, start + count - 1)
table.insert(page, 1, start)
return page
