--[[
  Lifts a suppression only if it is still the one the caller read: an undo of a one-click
  unsubscribe must not lift a suppression written since (a bounce, an organizer's).

  Input:
    KEYS[1] suppressed hash (lowercased address → JSON { at, reason })

    ARGV[1] lowercased address
    ARGV[2] the JSON value it must still hold

  Output:
    1 - removed
    0 - absent or changed, left alone
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
