--[[
  Claims the "done" line of one step occurrence for the caller, once among every scheduler.
  A call Redis ran whose reply was lost is sent again by ioredis: it finds its own token and
  answers as it did the first time, so the line is neither lost nor logged twice.

  Input:
    KEYS[1] reports hash (occurrence → token of the call that claimed it)

    ARGV[1] occurrence (`<step>@<due epoch ms>`)
    ARGV[2] the call's token
    ARGV[3] seconds the hash lives after its last claim

  Output:
    1 - claimed by this call
    0 - claimed by another
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  if cur == ARGV[2] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
