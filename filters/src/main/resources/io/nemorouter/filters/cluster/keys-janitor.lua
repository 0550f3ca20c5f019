-- Keeps the replicas' shares honest: records this replica's heartbeat, and for every replica silent
-- for longer than the stale time (dead, or cut off), and for this one when it starts (it has nothing
-- open then), removes its reservations and in-flight counts from every ledger it touched.
-- KEYS[1]: the replicas hash (id -> last heartbeat, epoch ms). ARGV[1]: this replica; ARGV[2]: now
-- (ms); ARGV[3]: stale after (ms); ARGV[4]: '1' to clear this replica's own shares; ARGV[5]: the
-- prefix of the touched sets' keys ({p}:touched:).
-- Returns how many replicas' shares were cleared.
local own = ARGV[1]
local now = tonumber(ARGV[2])
local stale = tonumber(ARGV[3])
local cleared = 0
local reps = redis.call('HGETALL', KEYS[1])
local function clear(r)
  local set = ARGV[5] .. r
  for _, ledger in ipairs(redis.call('SMEMBERS', set)) do
    redis.call('HDEL', ledger, 'res:' .. r, 'par:' .. r)
  end
  redis.call('DEL', set)
  cleared = cleared + 1
end
for j = 1, #reps, 2 do
  local r, ts = reps[j], tonumber(reps[j + 1])
  if r ~= own and now - ts > stale then
    clear(r)
    redis.call('HDEL', KEYS[1], r)
  end
end
if ARGV[4] == '1' then clear(own) end
redis.call('HSET', KEYS[1], own, ARGV[2])
return cleared
