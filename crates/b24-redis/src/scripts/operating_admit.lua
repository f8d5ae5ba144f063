-- May a call of one method go now? The same decision as the in-process tracker, over the
-- state every process of the app shares.
-- KEYS[1] hash {operating, reset_at, cost, blocked_until}; KEYS[2] sorted set of calls in
-- flight (score: expiry).
-- ARGV: limit (portal s), slow-down share, time scale, member, in-flight ttl ms, idle ttl ms.
-- Returns 0 when admitted (the call now counts as in flight), else the wait in ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, slow, scale = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local h = redis.call('HMGET', KEYS[1], 'operating', 'reset_at', 'cost', 'blocked_until')
local operating = tonumber(h[1]) or 0
local reset_at = tonumber(h[2])
local cost = tonumber(h[3]) or 0
local blocked = tonumber(h[4])
if blocked then
  if blocked > now then
    return math.max(1, math.ceil(blocked - now))
  end
  redis.call('HDEL', KEYS[1], 'blocked_until')
end
local in_flight = redis.call('ZCARD', KEYS[2])
local projected = operating + in_flight * cost
local poll = math.max(1, math.ceil(cost * scale * 1000))
if projected + cost > limit then
  if reset_at and reset_at > now then
    return math.max(1, math.ceil(reset_at - now))
  end
  -- The oldest basket has dropped out; one probe call learns the new total.
  if in_flight > 0 then
    return poll
  end
elseif projected >= slow * limit and in_flight > 0 then
  return poll
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
return 0
