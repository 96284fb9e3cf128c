--[[
  Records an invitee's answer to a calendar item, keeping the newer of two answers: a REPLY to a
  higher SEQUENCE wins, and at the same SEQUENCE the later one (DTSTAMP, else the time it was
  read). Reading the same message again changes nothing.

  Input:
    KEYS[1] rsvp hash (itemId \n email → JSON RsvpRecord)

    ARGV[1] field, itemId \n lowercased email
    ARGV[2] the record, JSON (with sequence, at, message)
    ARGV[3] its sequence
    ARGV[4] its time, ISO UTC (compares as text)
    ARGV[5] its message key

  Output:
    1 - recorded as the current answer
    0 - kept the stored answer, which is newer
    2 - this message's answer is already the stored one
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local old = cjson.decode(cur)
  if old.message == ARGV[5] then return 2 end
  local oldSeq = tonumber(old.sequence) or 0
  local newSeq = tonumber(ARGV[3])
  if oldSeq > newSeq then return 0 end
  if oldSeq == newSeq and (old.at or '') > ARGV[4] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
