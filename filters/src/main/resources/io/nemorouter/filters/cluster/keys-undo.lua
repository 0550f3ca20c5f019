-- Undoes an admission the gateway stopped waiting for (it timed out, or the link failed) and that
-- may still have run in Redis: what it granted was recorded under its id by keys-admit.lua, and is
-- given back here, once. If it has not run (yet), a tombstone under its id stops it from taking
-- anything when it does.
-- KEYS[1]: the admission's key ({p}:adm:<id>); KEYS[2..n+1]: the ledgers it asked at.
-- ARGV[1]: replica id. Returns 1 when something was given back, 0 otherwise.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local W = 60000000
local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'undone', 'EX', 600)
if not v or v == 'undone' then
  return 0
end
local resField = 'res:' .. ARGV[1]
local parField = 'par:' .. ARGV[1]
local g = {}
for x in string.gmatch(v, '[^,]+') do table.insert(g, tonumber(x)) end

local function back(tat, units, limit)
  if tat <= now then return nil end -- the limit is whole already
  return math.max(tat - math.ceil(units * W / limit), now)
end

for i = 2, #KEYS do
  local o = (i - 2) * 7
  local start, req, tok, par, bud, rpm, tpm = g[o + 1], g[o + 2], g[o + 3], g[o + 4], g[o + 5], g[o + 6], g[o + 7]
  local f = redis.call('HMGET', KEYS[i], 'start', 'rpm', 'tpm', resField, parField)
  local set, del = {}, {}
  if bud > 0 and tonumber(f[1] or '-1') == start then
    local left = tonumber(f[4] or '0') - bud
    if left <= 0 then table.insert(del, resField) else table.insert(set, resField); table.insert(set, string.format('%.0f', left)) end
  end
  if par > 0 then
    local left = tonumber(f[5] or '0') - par
    if left <= 0 then table.insert(del, parField) else table.insert(set, parField); table.insert(set, string.format('%.0f', left)) end
  end
  if req > 0 and rpm > 0 then
    local tat = back(tonumber(f[2] or '0'), req, rpm)
    if tat then table.insert(set, 'rpm'); table.insert(set, string.format('%.0f', tat)) end
  end
  if tok > 0 and tpm > 0 then
    local tat = back(tonumber(f[3] or '0'), tok, tpm)
    if tat then table.insert(set, 'tpm'); table.insert(set, string.format('%.0f', tat)) end
  end
  if #set > 0 then redis.call('HSET', KEYS[i], unpack(set)) end
  if #del > 0 then redis.call('HDEL', KEYS[i], unpack(del)) end
end
return 1
