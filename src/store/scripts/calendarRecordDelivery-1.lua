--[[
  Records what a recipient was delivered for a calendar item, keeping the newer of two records:
  several workers may record at once, and an older SEQUENCE must never replace a newer one.

  Input:
    KEYS[1] calendar delivered hash (itemId \n email → JSON DeliveryRecord)

    ARGV[1] field, itemId \n lowercased email
    ARGV[2] the delivery record, JSON
    ARGV[3] its sequence

  Output:
    1 - recorded
    0 - kept the stored record, whose sequence is newer
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local old = cjson.decode(cur)
  if tonumber(old.sequence) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
