-- Records a ledger's budget period as an admin change leaves it (a new record, or its budget's
-- duration changed), without ever stretching a period that has ended or moving a running one's start.
-- KEYS[1]: the ledger hash. ARGV[1], ARGV[2]: the period start and end (epoch ms; end 0: never ends)
-- as the gateway that made the change sees it.
-- A ledger that does not exist starts with that period, its sums 0. One whose stored period has
-- ended starts that period afresh (spend 0, its old reservations dropped). A running period keeps its
-- start and sums, and takes the new end only when the gateway's start is the stored one (the gateway
-- computed the end from that start); another start means the gateway's view lags, and nothing moves.
local key = KEYS[1]
local start, stop = tonumber(ARGV[1]), tonumber(ARGV[2])
local f = redis.call('HMGET', key, 'start', 'end')
if not f[1] then
  redis.call('HSET', key, 'start', ARGV[1], 'end', ARGV[2], 'spent', '0', 'total', '0', 'alerted', '0')
  return 1
end
local stored, storedEnd = tonumber(f[1]), tonumber(f[2] or '0')
if storedEnd ~= 0 and start >= storedEnd then
  for _, k in ipairs(redis.call('HKEYS', key)) do
    if string.sub(k, 1, 4) == 'res:' then redis.call('HDEL', key, k) end
  end
  redis.call('HSET', key, 'start', ARGV[1], 'end', ARGV[2], 'spent', '0', 'alerted', '0')
  return 2
end
if start == stored then
  redis.call('HSET', key, 'end', ARGV[2])
  return 3
end
return 0
