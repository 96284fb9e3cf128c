--[[
  SEND_RATE across every queue: reserves the next free send time of one shared bucket (a
  "generic cell rate" limiter with no burst: sends are spaced interval ms apart), for workers of
  a cluster, where each event has its own BullMQ queue and BullMQ's limiter is per queue.

  Input:
    KEYS[1] bucket (string: the next free send time, epoch ms of the Redis clock)

    ARGV[1] interval between two sends, ms (1000 / SEND_RATE)
    ARGV[2] the longest wait worth reserving, ms

  Output:
    wait >= 0  - reserved: the caller sends in `wait` ms
    -wait      - nothing reserved: the next free time is further than ARGV[2] away

  The Redis server's clock, not the caller's: workers on several hosts share one time line.
  smtpClearance-4.lua takes a turn the same way (a processor's turn, read with the SMTP checks);
  a change to one belongs in both.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
if nextFree < now then nextFree = now end
local wait = nextFree - now
if wait > maxWait then return -math.ceil(wait) end
redis.call('SET', KEYS[1], tostring(nextFree + interval), 'PX', math.ceil(wait + interval + 1000))
return wait
