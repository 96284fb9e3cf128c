--[[
  What a BullMQ queue holds that has not finished, read at once (queue-jobs.ts,
  QueueJobs.pending): separate reads let a job moving between states (a paused step's job put
  back, a delayed job coming due) be missed by both.

  Input:
    KEYS[1] the queue's key prefix (`<prefix>:sends:`, as BullMQ's getCounts takes it)

    ARGV[1] and on: delayed-set scores, each the highest of a job due by a time asked about

  Output:
    { jobs waiting or running (wait, paused, prioritized, active), delayed jobs in all,
      then per ARGV[i], the delayed jobs scored at most ARGV[i] }
]]
local p = KEYS[1]
local rcall = redis.call
local open = rcall('LLEN', p .. 'wait') + rcall('LLEN', p .. 'paused')
  + rcall('ZCARD', p .. 'prioritized') + rcall('LLEN', p .. 'active')
local out = { open, rcall('ZCARD', p .. 'delayed') }
for i = 1, #ARGV do
  out[#out + 1] = rcall('ZCOUNT', p .. 'delayed', '-inf', ARGV[i])
end
return out
