--[[
  Records when a team registered, keeping only the earliest time: a team registers once, and a
  second import must not move it later.

  Input:
    KEYS[1] registrations hash (team id → ISO instant)

    ARGV[1] team id
    ARGV[2] registered at, ISO UTC in Z form (so that string order is time order)

  Output:
    1 - recorded
    0 - an earlier (or the same) time was already recorded
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur <= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
