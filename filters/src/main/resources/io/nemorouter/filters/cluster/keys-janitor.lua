-- Keeps the replicas' shares honest: records this replica's heartbeat, and for every replica silent
-- for longer than the stale time (dead, or cut off), and for this one when it starts (it has nothing
-- open then), removes its reservations and in-flight counts from every ledger it touched.
-- Time is Redis's (replicas' clocks do not matter). After a time when no janitor ran at all (Redis
-- was away from every replica, or all stopped), silence is counted from when the janitors resumed:
-- a replica that could not beat because Redis was away is not taken for dead.
-- KEYS[1]: the replicas hash (id -> last heartbeat, Redis ms); KEYS[2]: the janitors' own hash
-- (last: their last run; resumed: when they ran again after a gap). ARGV[1]: this replica;
-- ARGV[2]: unused (was the replica's clock); ARGV[3]: stale after (ms); ARGV[4]: '1' to clear this
-- replica's own shares; ARGV[5]: the prefix of the touched sets' keys ({p}:touched:).
-- Returns how many replicas' shares were cleared.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local own = ARGV[1]
local stale = tonumber(ARGV[3])
local cleared = 0
local j = redis.call('HMGET', KEYS[2], 'last', 'resumed')
local last, resumed = tonumber(j[1] or '0'), tonumber(j[2] or '0')
if now - last > stale then
  resumed = now
end
redis.call('HSET', KEYS[2], 'last', string.format('%.0f', now), 'resumed', string.format('%.0f', resumed))
local reps = redis.call('HGETALL', KEYS[1])
local function clear(r)
  local set = ARGV[5] .. r
  for _, ledger in ipairs(redis.call('SMEMBERS', set)) do
    redis.call('HDEL', ledger, 'res:' .. r, 'par:' .. r)
  end
  redis.call('DEL', set)
  cleared = cleared + 1
end
for i = 1, #reps, 2 do
  local r, beat = reps[i], tonumber(reps[i + 1])
  if r ~= own and now - math.max(beat, resumed) > stale then
    clear(r)
    redis.call('HDEL', KEYS[1], r)
  end
end
if ARGV[4] == '1' then clear(own) end
redis.call('HSET', KEYS[1], own, string.format('%.0f', now))
return cleared
