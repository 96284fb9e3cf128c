--[[
  Everything the worker re-checks a send with before it claims it, in one round trip and one
  command instead of one per store (send-checks.ts). Read only. On a cluster every key is of the
  event's slot, so the suppression, which is global and of another slot, is read beside it.

  Input:
    KEYS[1] ledger hash (send id → compact JSON record, see ledger.ts)
    KEYS[2] control hash (`*` or step id → paused | cancelled)
    KEYS[3] registrations hash (team → ISO instant)
    KEYS[4] calendar items hash (item id → JSON item record)
    KEYS[5] calendar delivered hash (item id \n email → JSON DeliveryRecord)
    KEYS[6] RSVP hash (item id \n email → JSON RsvpRecord)
    KEYS[7] suppressions hash (lowercased address → JSON); on a cluster KEYS[1] again, unread

    ARGV[1] send id
    ARGV[2] the recipient's team, "" for none
    ARGV[3] calendar item id, "" when the kind carries no invite
    ARGV[4] delivered field (item id \n lowercased email), "" with ARGV[3] ""
    ARGV[5] "1" to read the RSVP answers (a step of the event has `when: { rsvp }`)
    ARGV[6] the lowercased address to look up in KEYS[7], "" on a cluster

  Output:
    { ledger record | nil, control flat array, registration | nil, item | nil, delivered | nil,
      RSVP flat array (empty unless asked), suppression | nil }
]]
local function hgetIf(key, field)
  if field == '' then return false end
  return redis.call('HGET', key, field)
end
local rsvp = {}
if ARGV[5] == '1' then rsvp = redis.call('HGETALL', KEYS[6]) end
return {
  redis.call('HGET', KEYS[1], ARGV[1]),
  redis.call('HGETALL', KEYS[2]),
  hgetIf(KEYS[3], ARGV[2]),
  hgetIf(KEYS[4], ARGV[3]),
  hgetIf(KEYS[5], ARGV[4]),
  rsvp,
  hgetIf(KEYS[7], ARGV[6]),
}
