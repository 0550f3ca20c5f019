-- Settles finished requests at every level (a batch of them, summed per ledger and period), and
-- takes back what a replica's lease gives back: reservations replaced by the real cost, the tokens
-- TPM limits took corrected to the real count, requests given back to the RPM limits, places freed;
-- and which alert thresholds this spend newly crossed (each threshold of a period is handed to
-- exactly one settlement, whichever replica made it).
-- KEYS[1..n]: ledger hashes. ARGV[1]: replica id; ARGV[2]: n; ARGV[3]: a once-only key for a
-- journaled settlement being replayed ('' for a live one): if it exists, this was applied already
-- and nothing is done; then 10 per level: period start,
-- period end, reserved (what leaves this replica's reservations: the cost, and what its lease gives
-- back; 0: none), cost (nano-USD), tpm correction (tokens, may be negative), tpm limit, requests given
-- back to the RPM limit, rpm limit, places freed, alert thresholds (nano-USD, ascending, comma-separated; '' none).
-- Returns 6 per level: period start, period end, spent, total, first crossed threshold index,
-- one past the last (equal: none crossed).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local W = 60000000
local replica = ARGV[1]
local n = tonumber(ARGV[2])
local resField = 'res:' .. replica
local parField = 'par:' .. replica
local out = {}
if ARGV[3] ~= '' then
  if not redis.call('SET', ARGV[3], '1', 'NX', 'EX', 604800) then
    return out
  end
end

-- a rate limit's TAT after giving back (units < 0) or charging (units > 0) that many units
local function adjusted(tat, units, limit)
  if units < 0 and tat <= now then
    return nil -- the limit is whole already: nothing to give back to
  end
  return math.max(math.max(tat, now) + math.ceil(units * W / limit), now)
end

local function reached(thresholds, spend)
  local c = 0
  for _, at in ipairs(thresholds) do
    if spend >= at then c = c + 1 else break end
  end
  return c
end

local function fmt(v)
  return string.format('%.0f', v)
end

-- each redis.call costs a few microseconds inside a script: one read and one write per level
for i = 1, n do
  local a = 3 + (i - 1) * 10
  local key = KEYS[i]
  local start, stop = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local reserved, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local tpmDelta, tpmLimit = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local rpmBack, rpmLimit = tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local placesFreed = tonumber(ARGV[a + 9])
  local thresholds = {}
  for v in string.gmatch(ARGV[a + 10], '[^,]+') do
    table.insert(thresholds, tonumber(v))
  end
  local f = redis.call('HMGET', key, 'start', 'end', 'spent', 'alerted', 'total', 'tpm', 'rpm', resField, parField)
  if not f[1] then
    -- no ledger: its key, team or org was deleted while the request ran (a ledger is made with its record);
    -- settling would make a zombie that a record re-created under the same id would inherit
    for _ = 1, 6 do table.insert(out, 0) end
  else
  local stored = tonumber(f[1] or '-1')
  local storedEnd = tonumber(f[2] or '0')
  local spent = tonumber(f[3] or '0')
  local total = tonumber(f[5] or '0') + cost
  local set = {'total', fmt(total)}
  local del = {}
  local from, to = 0, 0
  -- (a lease giving back no budget has no period: start -1)
  local newPeriod = start >= 0 and (stored < 0 or (storedEnd ~= 0 and start >= storedEnd))
  if not newPeriod and start > stored then
    start = stored -- this replica's clock or view runs ahead within the stored period: the stored period it is
  end
  if newPeriod then
    -- the first settlement of a new period (a ledger without a budget reserves nothing first)
    for _, k in ipairs(redis.call('HKEYS', key)) do
      if string.sub(k, 1, 4) == 'res:' then table.insert(del, k) end
    end
    stored, storedEnd, spent = start, stop, 0
    f[4] = '0'
    for _, v in ipairs({'start', fmt(start), 'end', fmt(stop), 'alerted', '0'}) do table.insert(set, v) end
  elseif start == stored and reserved > 0 then
    local left = tonumber(f[8] or '0') - reserved
    if left <= 0 then table.insert(del, resField) else table.insert(set, resField); table.insert(set, fmt(left)) end
  end
  if start == stored then
    spent = spent + cost
    table.insert(set, 'spent'); table.insert(set, fmt(spent))
    if #thresholds > 0 and cost > 0 then
      local sent = tonumber(f[4] or '-1')
      if sent < 0 then sent = reached(thresholds, spent - cost) end
      local nowReached = reached(thresholds, spent)
      if nowReached > sent then from, to = sent, nowReached end
      table.insert(set, 'alerted'); table.insert(set, tostring(math.max(sent, nowReached)))
    end
  end
  if tpmDelta ~= 0 and tpmLimit > 0 then
    local tat = adjusted(tonumber(f[6] or '0'), tpmDelta, tpmLimit)
    if tat then table.insert(set, 'tpm'); table.insert(set, fmt(tat)) end
  end
  if rpmBack > 0 and rpmLimit > 0 then
    local tat = adjusted(tonumber(f[7] or '0'), -rpmBack, rpmLimit)
    if tat then table.insert(set, 'rpm'); table.insert(set, fmt(tat)) end
  end
  if placesFreed > 0 then
    local left = tonumber(f[9] or '0') - placesFreed
    if left <= 0 then table.insert(del, parField) else table.insert(set, parField); table.insert(set, fmt(left)) end
  end
  redis.call('HSET', key, unpack(set))
  if #del > 0 then
    redis.call('HDEL', key, unpack(del))
  end
  for _, v in ipairs({stored, storedEnd, spent, total, from, to}) do
    table.insert(out, v)
  end
  end
end
return out
