--[[
  Pauses an event or one of its steps, unless it is cancelled: a cancelled step stays cancelled.

  Input:
    KEYS[1] control hash (* or step id → paused | cancelled)

    ARGV[1] field, * (the whole event) or a step id

  Output:
    nothing
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'cancelled' then
  redis.call('HSET', KEYS[1], ARGV[1], 'paused')
end
