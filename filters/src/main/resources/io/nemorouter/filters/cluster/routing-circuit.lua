-- One deployment's circuit change, made on one replica: merged into the shared record (what a replica
-- that starts or comes back reads), then sent to every replica. An event is
-- "open|close <until epoch ms> <at epoch ms> <replica> <deployment id>" (until is 0 for a close).
-- The record holds the latest change: two openings merge into the longer cooldown, as late as the
-- later of them; otherwise an event older than the record's leaves it as it is (the rule each replica
-- applies too, in DeploymentState.learn).
-- KEYS[1]: the hash of records, by deployment id
-- ARGV[1]: the deployment id; ARGV[2]: the event; ARGV[3]: the channel; ARGV[4]: keep the hash at least this long (ms)
local function parse(e)
  local kind, untl, at, rest = string.match(e, '^(%a+) (%d+) (%d+) (.*)$')
  return kind, tonumber(untl), tonumber(at), rest
end

local event = ARGV[2]
local record = event
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, ou, oa, orest = parse(old)
  local nk, nu, na, nrest = parse(event)
  if ok == 'open' and nk == 'open' then
    if ou > nu then
      record = string.format('open %d %d %s', ou, math.max(oa, na), orest)
    else
      record = string.format('open %d %d %s', nu, math.max(oa, na), nrest)
    end
  elseif oa > na then
    record = old
  end
end
redis.call('HSET', KEYS[1], ARGV[1], record)
local keep = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
redis.call('PUBLISH', ARGV[3], event)
return record
