-- Admits one attempt of a keyed request at every level it has (key, team, organization): all or
-- nothing, atomically, in one round trip. Rate limits are GCRA on Redis's clock (microseconds), so
-- replicas' clocks do not matter; budgets count settled spend plus every replica's open reservations.
-- KEYS[1..n]: the levels' ledger hashes; KEYS[n+1]: the set of ledgers this replica holds
-- reservations or in-flight counts in (for the janitor, when a replica dies).
-- ARGV[1]: replica id; ARGV[2]: n; then 9 per level: budget limit (nano-USD, -1: none), period start,
-- period end (epoch ms, from the stored start), amount to reserve, rpm limit (0: none), tpm limit
-- (0: none), tokens, parallel limit (0: none), take ('1': also take from the rate and parallel limits,
-- the first attempt; '0': a failover attempt reserves budget only).
-- Returns {1, then 8 per level: period start, period end, spent, total, rpm remaining, rpm reset ms,
-- tpm remaining, tpm reset ms} or {0, level (1-based), what, wait ms, spent, period end}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local W = 60000000
local replica = ARGV[1]
local n = tonumber(ARGV[2])
local resField = 'res:' .. replica
local parField = 'par:' .. replica
local L = {}

for i = 1, n do
  local a = 2 + (i - 1) * 9
  local l = {
    limit = tonumber(ARGV[a + 1]), start = tonumber(ARGV[a + 2]), stop = tonumber(ARGV[a + 3]),
    amount = tonumber(ARGV[a + 4]), rpm = tonumber(ARGV[a + 5]), tpm = tonumber(ARGV[a + 6]),
    tokens = tonumber(ARGV[a + 7]), par = tonumber(ARGV[a + 8]), take = ARGV[a + 9] == '1',
    reserved = 0, inflight = 0, resFields = {}, ownRes = 0, ownPar = 0
  }
  local h = redis.call('HGETALL', KEYS[i])
  local f = {}
  for j = 1, #h, 2 do
    local k, v = h[j], h[j + 1]
    local kind = string.sub(k, 1, 4)
    if kind == 'res:' then
      l.reserved = l.reserved + tonumber(v)
      table.insert(l.resFields, k)
      if k == resField then l.ownRes = tonumber(v) end
    elseif kind == 'par:' then
      l.inflight = l.inflight + tonumber(v)
      if k == parField then l.ownPar = tonumber(v) end
    else
      f[k] = v
    end
  end
  local stored = tonumber(f['start'] or '-1')
  local storedEnd = tonumber(f['end'] or '0')
  l.spent = tonumber(f['spent'] or '0')
  l.total = tonumber(f['total'] or '0')
  l.newPeriod = false
  if stored < 0 or (storedEnd ~= 0 and l.start >= storedEnd) then
    -- a new ledger, or the first admission after the stored period ended: spend starts at 0; the old
    -- period's reservations settle into its total only (their start no longer matches). Only the end
    -- of the stored period moves it on: a replica's own idea of the start never resets a running period.
    l.newPeriod = true
    l.spent = 0
    l.reserved = 0
  else
    l.start = stored
    l.stop = storedEnd
  end
  l.rpmTat = tonumber(f['rpm'] or '0')
  l.tpmTat = tonumber(f['tpm'] or '0')
  L[i] = l
end

-- the limits of every level first, then the budgets: as the gateway alone checks them
for i = 1, n do
  local l = L[i]
  if l.take then
    if l.par > 0 and l.inflight >= l.par then
      return {0, i, 'parallel', 1000, l.spent, l.stop}
    end
    if l.rpm > 0 then
      local nxt = math.max(l.rpmTat, now) + W / l.rpm
      if nxt - now > W then
        return {0, i, 'rpm', math.ceil((nxt - W - now) / 1000), l.spent, l.stop}
      end
      l.rpmNext = nxt
    end
    if l.tpm > 0 and l.tokens > 0 then
      local nxt = math.max(l.tpmTat, now) + math.min(W, math.ceil(l.tokens * W / l.tpm))
      if nxt - now > W then
        return {0, i, 'tpm', math.ceil((nxt - W - now) / 1000), l.spent, l.stop}
      end
      l.tpmNext = nxt
    end
  end
end
for i = 1, n do
  local l = L[i]
  if l.limit >= 0 then
    local committed = l.spent + l.reserved
    if committed >= l.limit or l.amount > l.limit - committed then
      return {0, i, 'budget', 0, l.spent, l.stop}
    end
  end
end

local out = {1}
-- each redis.call costs a few microseconds inside a script: one HSET per level carries every change
for i = 1, n do
  local l = L[i]
  local key = KEYS[i]
  local set = {}
  if l.newPeriod then
    for _, k in ipairs(l.resFields) do
      if k ~= resField then redis.call('HDEL', key, k) end
    end
    l.ownRes = 0
    table.insert(set, 'start'); table.insert(set, string.format('%.0f', l.start))
    table.insert(set, 'end'); table.insert(set, string.format('%.0f', l.stop))
    table.insert(set, 'spent'); table.insert(set, '0')
    table.insert(set, 'alerted'); table.insert(set, '0')
    table.insert(set, resField); table.insert(set, '0')
  end
  local shares = false
  if l.take and l.par > 0 then
    table.insert(set, parField); table.insert(set, string.format('%.0f', l.ownPar + 1))
    shares = true
  end
  if l.rpmNext then
    l.rpmTat = l.rpmNext
    table.insert(set, 'rpm'); table.insert(set, string.format('%.0f', l.rpmNext))
  end
  if l.tpmNext then
    l.tpmTat = l.tpmNext
    table.insert(set, 'tpm'); table.insert(set, string.format('%.0f', l.tpmNext))
  end
  if l.limit >= 0 and l.amount > 0 then
    table.insert(set, resField); table.insert(set, string.format('%.0f', l.ownRes + l.amount))
    shares = true
  end
  if #set > 0 then
    redis.call('HSET', key, unpack(set))
  end
  if shares then
    redis.call('SADD', KEYS[n + 1], key) -- the janitor's list of where this replica holds shares
  end
  local rpmRemaining, rpmReset, tpmRemaining, tpmReset = -1, 0, -1, 0
  if l.rpm > 0 then
    local used = math.max(0, l.rpmTat - now)
    rpmRemaining = math.max(0, math.floor((W - used) / (W / l.rpm)))
    rpmReset = math.ceil(used / 1000)
  end
  if l.tpm > 0 then
    local used = math.max(0, l.tpmTat - now)
    tpmRemaining = math.max(0, math.floor((W - used) / (W / l.tpm)))
    tpmReset = math.ceil(used / 1000)
  end
  for _, v in ipairs({l.start, l.stop, l.spent, l.total, rpmRemaining, rpmReset, tpmRemaining, tpmReset}) do
    table.insert(out, v)
  end
end
return out
