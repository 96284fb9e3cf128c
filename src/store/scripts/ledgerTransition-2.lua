--[[
  Moves one send of the ledger to a new state, if its current state is one of the allowed ones
  (a compare-and-set: what makes "scheduled → sending" a claim only one worker can win).

  Input:
    KEYS[1] ledger hash (send id → compact JSON record, see ledger.ts)
    KEYS[2] pending hash (send id → due ms, for sends in state scheduled)

    ARGV[1] send id
    ARGV[2] allowed from-states, "|a|b|c|"
    ARGV[3] patch, JSON; a field set to false is deleted from the record
    ARGV[4] now, epoch ms
    ARGV[5] counters to bump, "a" attempts, "u" unconfirmed attempts (e.g. "au-")

  Output:
    { 1, from } - moved; from is the state before the move
    { 0, from } - not moved; from is the blocking state

  The pending index is kept in step with the record in the same atomic call. A skipped record
  with x set matches as "unplanned", not as "skipped"; the mark lives only as long as the skip
  that set it, so every move clears it unless its patch sets it again.
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rec
if cur then rec = cjson.decode(cur) else rec = { s = 'none' } end
local from = rec.s
if from == 'skipped' and rec.x then from = 'unplanned' end
if not string.find(ARGV[2], '|' .. from .. '|', 1, true) then return { 0, from } end
local patch = cjson.decode(ARGV[3])
rec.x = nil
for k, v in pairs(patch) do
  if v == false then rec[k] = nil else rec[k] = v end
end
local now = tonumber(ARGV[4])
if string.find(ARGV[5], 'a', 1, true) then rec.n = (rec.n or 0) + 1 end
if string.find(ARGV[5], 'u', 1, true) then rec.u = (rec.u or 0) + 1 end
rec.t = now
if not rec.q then rec.q = now end
if rec.s ~= 'scheduled' then rec.d = nil end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
if rec.s == 'scheduled' then
  redis.call('HSET', KEYS[2], ARGV[1], rec.d or 0)
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return { 1, from }
