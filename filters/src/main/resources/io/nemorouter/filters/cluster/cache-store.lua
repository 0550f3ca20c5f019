-- The response cache shared by a cluster's gateways (RedisCacheStore). Each answer is a string key
-- <prefix><cache key> that Redis expires after the answer's TTL; beside them, one index:
--   KEYS[1] a sorted set: cache key -> when the answer expires (ms, by Redis's clock)
--   KEYS[2] a hash: cache key -> "<size> <scope length> <scope><model>" (what flush and the bounds read)
--   KEYS[3] the bytes of the answers in the index
-- ARGV[1] the operation, ARGV[2] the answers' key prefix:
--   put <prefix> <key> <ttl ms> <description> <size> <max entries> <max bytes> <value>
--       stores the answer, then while past a bound evicts those nearest their expiry (at most 64 a put);
--       returns how many it evicted
--   drop <prefix> <key>...   removes those answers; returns how many were there
--   size <prefix>            {answers not expired, their bytes}
-- Every operation first forgets up to 100 answers Redis has expired, so the index stays bounded and
-- its counts true without a scan.
local exp, desc, bytes = KEYS[1], KEYS[2], KEYS[3]
local op, prefix = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- takes k out of the index and deletes its answer; true when the answer was still there
local function forget(k)
  local d = redis.call('HGET', desc, k)
  if d then
    redis.call('HDEL', desc, k)
    redis.call('DECRBY', bytes, tonumber(string.match(d, '^%d+')))
  end
  redis.call('ZREM', exp, k)
  return redis.call('DEL', prefix .. k) == 1
end

for _, k in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)) do
  forget(k)
end

if op == 'put' then
  local key, ttl = ARGV[3], tonumber(ARGV[4])
  forget(key)
  redis.call('SET', prefix .. key, ARGV[9], 'PX', ttl)
  redis.call('ZADD', exp, now + ttl, key)
  redis.call('HSET', desc, key, ARGV[5])
  redis.call('INCRBY', bytes, tonumber(ARGV[6]))
  local maxEntries, maxBytes, evicted = tonumber(ARGV[7]), tonumber(ARGV[8]), 0
  while evicted < 64 and (redis.call('ZCARD', exp) > maxEntries or tonumber(redis.call('GET', bytes)) > maxBytes) do
    local first = redis.call('ZRANGE', exp, 0, 1)
    local victim = first[1]
    if victim == key then
      victim = first[2] -- the answer just stored stays
    end
    if not victim then
      break
    end
    forget(victim)
    evicted = evicted + 1
  end
  return evicted
elseif op == 'drop' then
  local n = 0
  for i = 3, #ARGV do
    if forget(ARGV[i]) then
      n = n + 1
    end
  end
  return n
elseif op == 'size' then
  return {redis.call('ZCOUNT', exp, '(' .. now, '+inf'), tonumber(redis.call('GET', bytes) or '0')}
end
return redis.error_reply('cache-store: no operation ' .. tostring(op))
