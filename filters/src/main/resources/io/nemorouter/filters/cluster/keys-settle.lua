-- Settles a finished attempt at every level: its reservation replaced by the real cost, the tokens
-- its TPM limits took corrected to the real count, a request that never went upstream given back to
-- the RPM limits, its place in flight freed; and which alert thresholds this spend newly crossed
-- (each threshold of a period is handed to exactly one settlement, whichever replica made it).
-- KEYS[1..n]: ledger hashes. ARGV[1]: replica id; ARGV[2]: n; ARGV[3]: a once-only key for a
-- journaled settlement being replayed ('' for a live one): if it exists, this was applied already
-- and nothing is done; then 10 per level: period start,
-- period end, reserved (what admission reserved here; 0: none), cost (nano-USD), tpm correction
-- (tokens, may be negative), tpm limit, give back one request ('1'/'0'), rpm limit, free the place in
-- flight ('1'/'0'), alert thresholds (nano-USD, ascending, comma-separated; '' none).
-- Returns 6 per level: period start, period end, spent, total, first crossed threshold index,
-- one past the last (equal: none crossed).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local W = 60000000
local replica = ARGV[1]
local n = tonumber(ARGV[2])
local out = {}
if ARGV[3] ~= '' then
  if not redis.call('SET', ARGV[3], '1', 'NX', 'EX', 604800) then
    return out
  end
end

local function adjust(key, field, units, limit)
  local tat = tonumber(redis.call('HGET', key, field) or '0')
  if units < 0 and tat <= now then
    return -- the limit is whole already: nothing to give back to
  end
  local nxt = math.max(math.max(tat, now) + math.ceil(units * W / limit), now)
  redis.call('HSET', key, field, string.format('%.0f', nxt))
end

local function reached(thresholds, spend)
  local c = 0
  for _, at in ipairs(thresholds) do
    if spend >= at then c = c + 1 else break end
  end
  return c
end

for i = 1, n do
  local a = 3 + (i - 1) * 10
  local key = KEYS[i]
  local start, stop = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local reserved, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local tpmDelta, tpmLimit = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local rpmBack, rpmLimit = ARGV[a + 7] == '1', tonumber(ARGV[a + 8])
  local freePlace = ARGV[a + 9] == '1'
  local thresholds = {}
  for v in string.gmatch(ARGV[a + 10], '[^,]+') do
    table.insert(thresholds, tonumber(v))
  end
  local f = redis.call('HMGET', key, 'start', 'end', 'spent', 'alerted')
  local stored = tonumber(f[1] or '-1')
  local storedEnd = tonumber(f[2] or '0')
  local from, to = 0, 0
  local newPeriod = stored < 0 or (storedEnd ~= 0 and start >= storedEnd)
  if not newPeriod and start > stored then
    start = stored -- this replica's clock or view runs ahead within the stored period: the stored period it is
  end
  if start >= stored then
    if newPeriod then
      -- the first settlement of a new period (a ledger without a budget reserves nothing first)
      local h = redis.call('HKEYS', key)
      for _, k in ipairs(h) do
        if string.sub(k, 1, 4) == 'res:' then redis.call('HDEL', key, k) end
      end
      redis.call('HSET', key, 'start', string.format('%.0f', start), 'end', string.format('%.0f', stop), 'spent', '0', 'alerted', '0')
      f[4] = '0'
    elseif reserved > 0 then
      local left = redis.call('HINCRBY', key, 'res:' .. replica, -reserved)
      if left <= 0 then redis.call('HDEL', key, 'res:' .. replica) end
    end
    local spent = redis.call('HINCRBY', key, 'spent', string.format('%.0f', cost))
    if #thresholds > 0 and cost > 0 then
      local sent = tonumber(f[4] or '-1')
      if sent < 0 then sent = reached(thresholds, spent - cost) end
      local now_reached = reached(thresholds, spent)
      if now_reached > sent then
        from, to = sent, now_reached
        redis.call('HSET', key, 'alerted', now_reached)
      elseif f[4] == false then
        redis.call('HSET', key, 'alerted', sent)
      end
    end
  end
  local total = redis.call('HINCRBY', key, 'total', string.format('%.0f', cost))
  if tpmDelta ~= 0 and tpmLimit > 0 then adjust(key, 'tpm', tpmDelta, tpmLimit) end
  if rpmBack and rpmLimit > 0 then adjust(key, 'rpm', -1, rpmLimit) end
  if freePlace then
    local left = redis.call('HINCRBY', key, 'par:' .. replica, -1)
    if left <= 0 then redis.call('HDEL', key, 'par:' .. replica) end
  end
  local g = redis.call('HMGET', key, 'start', 'end', 'spent')
  for _, v in ipairs({tonumber(g[1] or start), tonumber(g[2] or stop), tonumber(g[3] or '0'), total, from, to}) do
    table.insert(out, v)
  end
end
return out
