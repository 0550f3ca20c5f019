-- One batch of a replica's spend sums (see io.nemorouter.filters.accounting.ClusterSpend). The sums are
-- absolute, not increments: writing a batch twice changes nothing, so a batch whose answer was lost may
-- simply be sent again. Each batch carries a sequence number, increasing, kept per replica:
--
-- KEYS[1] the replicas' sequence numbers (hash), KEYS[2] the replicas and when each last wrote (sorted set),
-- KEYS[3..] the hashes this batch writes to (a day's sums of one grouping, or the key aliases)
-- ARGV[1] the replica, ARGV[2] the last sequence number Redis acknowledged to it, ARGV[3] this batch's,
-- ARGV[4] now (epoch ms), ARGV[5] replicas that last wrote before this (epoch ms) are forgotten,
-- then for each hash: when it expires (epoch seconds; 0: never), its number of fields, then a field and a
-- value for each
--
-- Returns 1: written; 0: an older batch than one already written (sent again by the client after a
-- reconnect), nothing written; -1: Redis no longer has a batch it acknowledged (restarted without it),
-- nothing written: the replica sends all its sums again.
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[3])
if seq <= stored then
  return 0
end
if stored < tonumber(ARGV[2]) then
  return -1
end
local i = 6
for k = 3, #KEYS do
  local expires = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  if expires ~= '0' then
    redis.call('EXPIREAT', KEYS[k], expires)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
return 1
