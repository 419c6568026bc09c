-- The shared budget's one script: the rolling window of every worker of an
-- app, kept atomic in Redis (src/policy/shared.rs calls it).
--
-- KEYS[1]  in flight: sorted set, member = slot id, score = lease end (ms)
-- KEYS[2]  counted:   sorted set, member = slot id, score = when HubSpot
--                     most likely counted the request (ms)
-- KEYS[3]  pause:     string, every worker waits until this instant (ms)
-- KEYS[4]  daily:     string, the daily budget is spent until this instant (ms)
-- KEYS[5]  quota:     string, "max:lookback ms" as HubSpot's headers last
--                     announced them to a worker, for workers that have not
--                     had an answer yet
-- ARGV[1]  the operation: acquire, release, forget, pause or daily
--
-- Every instant is Redis's own clock, so workers on several machines agree.
-- Answers are {verdict, milliseconds}: verdict 0 admitted, 1 wait (-1 ms:
-- only an answer can make room), 2 daily budget spent.

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local op = ARGV[1]

if op == 'acquire' then
  -- ARGV: slot id, max, lookback ms, lease ms, and 1 when max and lookback
  -- come from HubSpot's headers (0: the quota the worker started from)
  local slot, max = ARGV[2], tonumber(ARGV[3])
  local lookback, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
  if ARGV[6] == '1' then
    redis.call('SET', KEYS[5], max .. ':' .. lookback, 'PX', 86400000)
  else
    local known = redis.call('GET', KEYS[5])
    local sep = known and string.find(known, ':')
    if sep then
      max = tonumber(string.sub(known, 1, sep - 1)) or max
      lookback = tonumber(string.sub(known, sep + 1)) or lookback
    end
  end
  local daily = tonumber(redis.call('GET', KEYS[4]) or '0')
  if daily > now then
    return {2, daily - now}
  end
  local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
  if pause > now then
    return {1, pause - now}
  end
  -- Slots whose lease ran out belong to workers that died mid-request.
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - lookback)
  local held = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])
  if held < max then
    redis.call('ZADD', KEYS[1], now + lease, slot)
    redis.call('PEXPIRE', KEYS[1], lease + lookback)
    return {0, 0}
  end
  -- Full: room comes when enough counted requests have left the window.
  local must_leave = held - max
  local oldest = redis.call('ZRANGE', KEYS[2], must_leave, must_leave, 'WITHSCORES')
  if oldest[2] then
    return {1, math.max(1, tonumber(oldest[2]) + lookback - now)}
  end
  return {1, -1}
elseif op == 'release' then
  -- ARGV: slot id, ms between HubSpot counting it and now, keys' lifetime ms
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], now - tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
  return {0, 0}
elseif op == 'forget' then
  -- ARGV: slot id (HubSpot refused it with a 429 and did not count it)
  redis.call('ZREM', KEYS[1], ARGV[2])
  return {0, 0}
elseif op == 'pause' or op == 'daily' then
  -- ARGV: ms from now; a later instant extends, an earlier one never shortens
  local key = KEYS[3]
  if op == 'daily' then
    key = KEYS[4]
  end
  local ms = tonumber(ARGV[2])
  local held = tonumber(redis.call('GET', key) or '0')
  if now + ms > held then
    redis.call('SET', key, now + ms, 'PX', ms)
  end
  return {0, 0}
end
return redis.error_reply('unknown operation ' .. tostring(op))
