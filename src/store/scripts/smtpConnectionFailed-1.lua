--[[
  Counts a failure to reach the SMTP server and starts the queue-wide wait: doubling per failed
  round, capped. A failure arriving while a wait runs (the other jobs of the same round, other
  workers) does not grow it again, so concurrency does not inflate the backoff.

  Input:
    KEYS[1] SMTP backoff hash { n, until }

    ARGV[1] now, epoch ms
    ARGV[2] base wait, ms
    ARGV[3] longest wait, ms

  Output:
    the wait still to run, ms
]]
local now = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < untilMs then return untilMs - now end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local wait = math.min(cap, base * 2 ^ (n - 1))
redis.call('HSET', KEYS[1], 'until', now + wait)
redis.call('PEXPIRE', KEYS[1], math.floor(cap * 2 + wait))
return math.floor(wait)
