--[[
  Resumes a paused event or step; a cancelled one does not resume.

  Input:
    KEYS[1] control hash (* or step id → paused | cancelled)

    ARGV[1] field, * (the whole event) or a step id

  Output:
    1 - resumed (or was not paused)
    0 - cancelled, left alone
]]
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v == 'cancelled' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
