--[[
  Whether a send may go to SMTP now, asked once it has its SMTP slot and before it is claimed:
  the AUTH halt, the queue-wide wait (slow-down or connection backoff, whichever ends later)
  and, on a cluster, a SEND_RATE turn, in one round trip. Every key is of the global slot.

  Input:
    KEYS[1] halt (string, JSON of why sending stopped)
    KEYS[2] slow-down (string, epoch ms until which the server asked every worker to wait)
    KEYS[3] connection backoff hash (field `until`, epoch ms)
    KEYS[4] SEND_RATE bucket (string: the next free send time, epoch ms of the Redis clock)

    ARGV[1] now, epoch ms of the caller's clock (the wait is the caller's, as in waitingMs)
    ARGV[2] interval between two sends, ms; "0" takes no SEND_RATE turn
    ARGV[3] the longest SEND_RATE wait worth reserving, ms

  Output:
    { halt | nil, wait ms (> 0: every send must still wait), turn | nil }
    turn as sendRateTake-1.lua answers it; taken only when nothing else holds the send back, so
    a send that waits for the halt or the backoff never uses up a turn. The turn is
    sendRateTake-1.lua's, repeated here (a script cannot call another); a change to one belongs
    in both.
]]
local halt = redis.call('GET', KEYS[1])
local now = tonumber(ARGV[1])
local slow = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local backoff = tonumber(redis.call('HGET', KEYS[3], 'until') or '0') or 0
local ends = slow
if backoff > ends then ends = backoff end
local wait = ends - now
if wait < 0 then wait = 0 end
local interval = tonumber(ARGV[2])
if halt or wait > 0 or interval <= 0 then return { halt, wait, false } end
local t = redis.call('TIME')
local rnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxWait = tonumber(ARGV[3])
local nextFree = tonumber(redis.call('GET', KEYS[4]) or '0')
if nextFree < rnow then nextFree = rnow end
local turn = nextFree - rnow
if turn > maxWait then return { halt, 0, -math.ceil(turn) } end
redis.call('SET', KEYS[4], tostring(nextFree + interval), 'PX', math.ceil(turn + interval + 1000))
return { halt, 0, math.floor(turn) }
