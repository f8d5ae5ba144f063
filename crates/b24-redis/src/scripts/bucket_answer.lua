-- A request counted by bucket_acquire.lua was answered: it stops counting as in flight and
-- starts draining from now. A refusal fills the bucket and lowers the ceiling; successes
-- raise it back.
-- KEYS as in bucket_acquire.lua. ARGV: max ceiling, drain per real ms, member, refused (1/0),
-- idle ttl ms.
-- Numbers are stored with every digit: `tostring` keeps 14, which rounds a time in ms to
-- 0.1 ms, and under many requests a second the rounding drains the bucket measurably fast.
local function exact(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local max_ceiling, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'level', 'at', 'ceiling')
local level = tonumber(s[1]) or 0
local at = tonumber(s[2]) or now
local ceiling = tonumber(s[3]) or max_ceiling
level = math.max(0, level - rate * math.max(0, now - at))
if ARGV[4] == '1' then
  ceiling = math.max(math.max(1, max_ceiling / 2), ceiling - 5)
  level = math.max(level, ceiling)
else
  level = level + 1
  ceiling = math.min(max_ceiling, ceiling + 0.05)
end
redis.call('HSET', KEYS[1], 'level', exact(level), 'at', exact(math.max(now, at)), 'ceiling', exact(ceiling))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
