-- A call finished (ARGV[1] names its in-flight member, or is empty for an observation), and/or
-- an answer reported the method's operating time, or the portal blocked the method.
-- KEYS as in operating_admit.lua.
-- ARGV: member or '', kind ('report' | 'none' | 'blocked'), operating, reset in ms or '',
--       processing or '', limit, blocked default ms, idle ttl ms.
-- Returns the method's operating time as now stored (a string).
-- Numbers are stored with every digit: `tostring` keeps 14, which rounds a time in ms to
-- 0.1 ms, and under many requests a second the rounding drains the bucket measurably fast.
local function exact(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if ARGV[1] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local h = redis.call('HMGET', KEYS[1], 'operating', 'reset_at', 'cost')
local operating = tonumber(h[1]) or 0
local reset_at = tonumber(h[2])
local cost = tonumber(h[3]) or 0
if ARGV[2] == 'report' then
  operating = tonumber(ARGV[3])
  if ARGV[4] ~= '' then
    reset_at = now + tonumber(ARGV[4])
    redis.call('HSET', KEYS[1], 'reset_at', exact(reset_at))
  end
  if ARGV[5] ~= '' then
    local p = tonumber(ARGV[5])
    if cost == 0 then cost = p else cost = 0.8 * cost + 0.2 * p end
    redis.call('HSET', KEYS[1], 'cost', exact(cost))
  end
  redis.call('HSET', KEYS[1], 'operating', exact(operating))
elseif ARGV[2] == 'blocked' then
  operating = math.max(operating, tonumber(ARGV[6]))
  local until_ms = now + tonumber(ARGV[7])
  if reset_at and reset_at > now then until_ms = reset_at end
  redis.call('HSET', KEYS[1], 'operating', exact(operating), 'blocked_until', exact(until_ms))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[8]))
return exact(operating)
