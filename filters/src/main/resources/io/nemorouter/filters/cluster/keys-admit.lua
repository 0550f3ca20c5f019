-- Takes shares of the limits at every level a keyed request has (key, team, organization), all or
-- nothing, atomically, in one round trip: what the request needs, and up to as much again as the
-- replica wants to hold ahead (its lease: see Leases.java), so that later requests are admitted
-- there without asking. Rate limits are GCRA on Redis's clock (microseconds), so replicas' clocks do
-- not matter; budgets count settled spend plus every replica's open reservations and leases.
-- KEYS[1..n]: the levels' ledger hashes; KEYS[n+1]: the set of ledgers this replica holds
-- reservations or places in (for the janitor, when a replica dies); KEYS[n+2]: this admission's
-- key, where what it granted is kept for a minute, for keys-undo.lua should the gateway stop
-- waiting for the answer (a tombstone there, left by keys-undo.lua: nothing is taken).
-- ARGV[1]: replica id; ARGV[2]: n; then 14 per level: budget limit (nano-USD, -1: none), period
-- start, period end (epoch ms, from the stored start), rpm limit (0: none), tpm limit (0: none),
-- parallel limit (0: none), then a need and a want of each: requests, tokens, places, budget.
-- A need that does not fit refuses the whole; a want is granted as far as it fits, never refused.
-- Returns {1, then 12 per level: period start, period end, spent, total, rpm remaining, rpm reset
-- ms, tpm remaining, tpm reset ms, requests, tokens, places and budget granted} or {0, level
-- (1-based), what (parallel, rpm, tpm, budget, budget_held), wait ms, spent, period end}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local W = 60000000
local replica = ARGV[1]
local n = tonumber(ARGV[2])
local resField = 'res:' .. replica
local parField = 'par:' .. replica
local L = {}
if redis.call('EXISTS', KEYS[n + 2]) == 1 then
  return {0, 1, 'undone', 0, 0, 0}
end

for i = 1, n do
  local a = 2 + (i - 1) * 14
  local l = {
    limit = tonumber(ARGV[a + 1]), start = tonumber(ARGV[a + 2]), stop = tonumber(ARGV[a + 3]),
    rpm = tonumber(ARGV[a + 4]), tpm = tonumber(ARGV[a + 5]), par = tonumber(ARGV[a + 6]),
    needReq = tonumber(ARGV[a + 7]), wantReq = tonumber(ARGV[a + 8]),
    needTok = tonumber(ARGV[a + 9]), wantTok = tonumber(ARGV[a + 10]),
    needPar = tonumber(ARGV[a + 11]), wantPar = tonumber(ARGV[a + 12]),
    needBud = tonumber(ARGV[a + 13]), wantBud = tonumber(ARGV[a + 14]),
    reserved = 0, inflight = 0, resFields = {}, ownRes = 0, ownPar = 0,
    gotReq = 0, gotTok = 0, gotPar = 0, gotBud = 0
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
  if l.par > 0 and l.needPar + l.wantPar > 0 then
    local free = math.max(0, l.par - l.inflight)
    if l.needPar > free then
      return {0, i, 'parallel', 1000, l.spent, l.stop}
    end
    l.gotPar = math.min(l.needPar + l.wantPar, free)
  end
  if l.rpm > 0 and l.needReq + l.wantReq > 0 then
    local T = W / l.rpm
    local base = math.max(l.rpmTat, now)
    local room = math.max(0, math.floor((W - (base - now)) / T))
    if l.needReq > room then
      return {0, i, 'rpm', math.ceil((base + l.needReq * T - W - now) / 1000), l.spent, l.stop}
    end
    l.gotReq = math.min(l.needReq + l.wantReq, room)
    if l.gotReq > 0 then l.rpmNext = base + l.gotReq * T end
  end
  if l.tpm > 0 and l.needTok + l.wantTok > 0 then
    local base = math.max(l.tpmTat, now)
    local room = math.max(0, math.floor((W - (base - now)) * l.tpm / W))
    if l.needTok > room then
      local nxt = base + math.min(W, math.ceil(l.needTok * W / l.tpm))
      return {0, i, 'tpm', math.max(0, math.ceil((nxt - W - now) / 1000)), l.spent, l.stop}
    end
    l.gotTok = math.min(l.needTok + l.wantTok, room)
    if l.gotTok > 0 then l.tpmNext = base + math.min(W, math.ceil(l.gotTok * W / l.tpm)) end
  end
end
for i = 1, n do
  local l = L[i]
  if l.limit >= 0 and l.needBud + l.wantBud > 0 then
    local free = l.limit - l.spent - l.reserved
    if l.needBud > 0 and (free <= 0 or l.needBud > free) then
      -- 'budget_held': it would fit but for reservations (requests in flight or answered and not yet
      -- settled, and leases), which settle or go back soon: the gateway may ask again shortly
      return {0, i, l.needBud <= l.limit - l.spent and 'budget_held' or 'budget', 0, l.spent, l.stop}
    end
    l.gotBud = math.max(0, math.min(l.needBud + l.wantBud, free))
  end
end

local out = {1}
local granted = {}
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
  if l.gotPar > 0 then
    table.insert(set, parField); table.insert(set, string.format('%.0f', l.ownPar + l.gotPar))
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
  if l.gotBud > 0 then
    table.insert(set, resField); table.insert(set, string.format('%.0f', l.ownRes + l.gotBud))
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
  for _, v in ipairs({l.start, l.stop, l.spent, l.total, rpmRemaining, rpmReset, tpmRemaining, tpmReset,
                      l.gotReq, l.gotTok, l.gotPar, l.gotBud}) do
    table.insert(out, v)
  end
  for _, v in ipairs({l.start, l.gotReq, l.gotTok, l.gotPar, l.gotBud, l.rpm, l.tpm}) do
    table.insert(granted, string.format('%.0f', v))
  end
end
redis.call('SET', KEYS[n + 2], table.concat(granted, ','), 'EX', 60)
return out
