--[[
  Which of a batch of BullMQ jobs the scheduler must queue again: one call per batch instead of
  an EXISTS and a ZSCORE per job, so a full tick over 100,000 scheduled sends builds 50 commands
  in the client, not 200,000 (their objects and replies were most of that tick's garbage).

  Input:
    KEYS[1] the queue's failed set

    ARGV[1] the prefix of the queue's job keys (queue.toKey(""): "<prefix>:<queue>:")
    ARGV[2..] job ids

  Output:
    one character per id, in order: "f" in the failed set, "m" no job hash (never added,
    removed, or completed and removed), "-" otherwise

  The job keys are built from ARGV[1], as BullMQ's own scripts build them from their prefix:
  they share the queue's hash slot with KEYS[1] on a cluster.
]]
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    out[#out + 1] = 'f'
  elseif redis.call('EXISTS', ARGV[1] .. id) == 0 then
    out[#out + 1] = 'm'
  else
    out[#out + 1] = '-'
  end
end
return table.concat(out)
