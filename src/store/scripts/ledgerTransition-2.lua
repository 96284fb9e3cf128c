--[[
  Moves sends of the ledger to a new state, each only if its current state is one of the allowed
  ones (a compare-and-set: what makes "scheduled → sending" a claim only one worker can win).
  One call moves one send (a claim) or a batch (a scheduler tick: one command per thousand
  sends instead of one per send); each move of a batch stands alone, as if called by itself.

  Input:
    KEYS[1] ledger hash (send id → compact JSON record, see ledger.ts)
    KEYS[2] pending hash (send id → due ms, for sends in state scheduled)

    ARGV[1] now, epoch ms
    then per move, four arguments:
    ARGV[i]   send id
    ARGV[i+1] allowed from-states, "|a|b|c|"
    ARGV[i+2] patch, JSON; a field set to false is deleted from the record
    ARGV[i+3] counters to bump, "a" attempts, "u" unconfirmed attempts (e.g. "au-")

  Output:
    per move, in order, two values:
      1, from - moved; from is the state before the move
      0, from - not moved; from is the blocking state

  Every patch carries c, a token new for each call and move (ledger.ts, Ledger.moves), and the
  record keeps the token of the move that last changed it. A move that finds its own token on
  the record, and the record last changed at its own ARGV[1], is the same call run again:
  ioredis sends a command again after a reconnect when the dropped connection lost its reply,
  although Redis had run it. It answers 1, as the first run did, with the state it finds, and
  changes nothing. The time is what tells a move made since by a script older than the token
  (a worker of the previous version, in a rolling deploy): it leaves c alone but sets t. (A
  call that moved one send twice is answered so only for its last move of it.)

  The pending index is kept in step with the record in the same atomic call. A skipped record
  with x set matches as "unplanned", not as "skipped"; the mark lives only as long as the skip
  that set it, so every move clears it unless its patch sets it again.
]]
local now = tonumber(ARGV[1])

local function move(id, allowed, patchJson, counters)
  local cur = redis.call('HGET', KEYS[1], id)
  local rec
  if cur then rec = cjson.decode(cur) else rec = { s = 'none' } end
  local from = rec.s
  if from == 'skipped' and rec.x then from = 'unplanned' end
  local patch = cjson.decode(patchJson)
  if patch.c and rec.c == patch.c and rec.t == now then return 1, from end
  if not string.find(allowed, '|' .. from .. '|', 1, true) then return 0, from end
  rec.x = nil
  for k, v in pairs(patch) do
    if v == false then rec[k] = nil else rec[k] = v end
  end
  if string.find(counters, 'a', 1, true) then rec.n = (rec.n or 0) + 1 end
  if string.find(counters, 'u', 1, true) then rec.u = (rec.u or 0) + 1 end
  rec.t = now
  if not rec.q then rec.q = now end
  if rec.s ~= 'scheduled' then rec.d = nil end
  redis.call('HSET', KEYS[1], id, cjson.encode(rec))
  if rec.s == 'scheduled' then
    redis.call('HSET', KEYS[2], id, rec.d or 0)
  else
    redis.call('HDEL', KEYS[2], id)
  end
  return 1, from
end

local out = {}
for i = 2, #ARGV, 4 do
  local ok, from = move(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  out[#out + 1] = ok
  out[#out + 1] = from
end
return out
