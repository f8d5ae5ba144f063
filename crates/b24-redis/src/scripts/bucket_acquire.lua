-- Take one slot of the portal's request bucket, atomically for every process sharing it.
-- KEYS[1] hash {level, at, ceiling}; KEYS[2] sorted set of requests in flight (score: expiry).
-- ARGV: max ceiling, drain per real ms, member, in-flight ttl ms, idle ttl ms.
-- Returns 0 when the slot was taken, a positive wait in ms while the level drains, or -1 when
-- too much is in flight (wait for an answer).
-- Numbers are stored with every digit: `tostring` keeps 14, which rounds a time in ms to
-- 0.1 ms, and under many requests a second the rounding drains the bucket measurably fast.
local function exact(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local max_ceiling, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local s = redis.call('HMGET', KEYS[1], 'level', 'at', 'ceiling')
local level = tonumber(s[1]) or 0
local at = tonumber(s[2]) or now
local ceiling = tonumber(s[3]) or max_ceiling
level = math.max(0, level - rate * math.max(0, now - at))
local in_flight = redis.call('ZCARD', KEYS[2])
local excess = level + in_flight + 1 - ceiling
local result
if excess <= 1e-9 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
  result = 0
elseif level >= excess then
  result = math.max(1, math.ceil(excess / rate))
else
  result = -1
end
redis.call('HSET', KEYS[1], 'level', exact(level), 'at', exact(math.max(now, at)), 'ceiling', exact(ceiling))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return result
