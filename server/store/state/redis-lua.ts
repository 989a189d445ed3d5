/**
 * The Lua scripts behind the Redis `StateBackend`. Each runs atomically on the server, so a check
 * and its write can never be split by another replica (P5), and each sets the expiry in the same
 * step as the write, so no crash between two calls can leave an immortal key (P6).
 *
 * Numbers are Lua doubles: callers keep every operand a safe integer (see `stateArguments`).
 * Every key a script touches is passed in KEYS, as Redis Cluster requires.
 */
export const redisLua = {
  /**
   * KEYS[1] counter; ARGV delta, ttlMs → new value. INCRBY, then PEXPIRE only when the key has
   * no TTL: sets it on creation, repairs a key left immortal, keeps an existing expiry.
   */
  increment: `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
`,

  /**
   * KEYS counters; ARGV ttlMs, then delta per key → the new values. `increment` for each key in
   * order, after checking that none holds a non-integer (so an error writes nothing).
   */
  incrementMany: `
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw and not string.match(raw, '^-?%d+$') then
    return redis.error_reply('ERR value at ' .. KEYS[i] .. ' is not an integer counter')
  end
end
local values = {}
for i = 1, #KEYS do
  values[i] = redis.call('INCRBY', KEYS[i], ARGV[i + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return values
`,

  /**
   * KEYS counters; ARGV ttlMs, then amount and limit per key → {1} when every entry fits and all
   * were added, or {0, zero-based index, current} for the first that does not (nothing written).
   * Repeated keys are checked against the running total of this call.
   */
  reserve: `
local pending = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local amount = tonumber(ARGV[2 * i])
  local limit = tonumber(ARGV[2 * i + 1])
  local current = pending[key]
  if current == nil then
    local raw = redis.call('GET', key)
    current = 0
    if raw then
      -- What INCRBY below accepts, no more: tonumber would read '1e3' or ' 5', and the INCRBY on
      -- it would then fail after the earlier keys' were written.
      if not string.match(raw, '^-?%d+$') then
        return redis.error_reply('ERR value at ' .. key .. ' is not an integer counter')
      end
      current = tonumber(raw)
    end
  end
  if current + amount > limit then
    return {0, i - 1, current}
  end
  pending[key] = current + amount
end
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[2 * i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return {1}
`,

  /**
   * KEYS counters; ARGV ttlMs, then amount per key. Subtracts, deleting a counter that reaches
   * zero or below; absent counters stay absent; the rest get ttlMs.
   */
  release: `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local value = redis.call('DECRBY', KEYS[i], ARGV[i + 1])
    if value <= 0 then
      redis.call('DEL', KEYS[i])
    else
      redis.call('PEXPIRE', KEYS[i], ARGV[1])
    end
  end
end
return 0
`,

  /**
   * Several `hitWindows` checks at once (the ones a replica issues in one turn of its event loop,
   * `redis-window-batch.ts`), each its own all-or-nothing step, decided and counted one after the
   * other in the order given — as the same checks sent as separate scripts in one write would be.
   * KEYS hashes of admitted units per fixed-window index, every group's keys in turn; ARGV
   * windowMs, nowMs ('' = use the server clock), the number of groups, each group's key count,
   * then cost and limit per key → per group {admitted 0|1, then allowed 0|1, count, retryAfterMs
   * per key}, then the fixed window's index. Every key is decided on one clock reading with the
   * same arithmetic, in the same order, as `evaluateSlidingWindow`; a group is counted only when
   * all its keys have room. On the first hit of a new window, fields older than the previous
   * window are dropped; every counted key's TTL is set to two windows.
   */
  hitWindows: `
local w = tonumber(ARGV[1])
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local index = math.floor(now / w)
local elapsed = now - index * w
local currentField = string.format('%d', index)
local previousField = string.format('%d', index - 1)
local groups = tonumber(ARGV[3])
local reply = {}
local k = 0
local a = 3 + groups
for g = 1, groups do
  local n = tonumber(ARGV[3 + g])
  local head = #reply + 1
  reply[head] = 1
  for i = 1, n do
    local key = KEYS[k + i]
    local cost = tonumber(ARGV[a + 2 * i - 1])
    local limit = tonumber(ARGV[a + 2 * i])
    local current = tonumber(redis.call('HGET', key, currentField) or '0')
    local previous = tonumber(redis.call('HGET', key, previousField) or '0')
    local weighted = previous * (w - elapsed)
    if weighted + (current + cost) * w <= limit * w then
      reply[#reply + 1] = 1
      reply[#reply + 1] = current + cost + math.ceil(weighted / w)
      reply[#reply + 1] = 0
    else
      reply[head] = 0
      reply[#reply + 1] = 0
      reply[#reply + 1] = current + math.ceil(weighted / w)
      local room = limit - current - cost
      if room >= 0 then
        reply[#reply + 1] = w - math.floor(room * w / previous) - elapsed
      elseif cost > limit then
        reply[#reply + 1] = -1
      else
        reply[#reply + 1] = w - elapsed + (w - math.floor((limit - cost) * w / current))
      end
    end
  end
  if reply[head] == 1 then
    for i = 1, n do
      local key = KEYS[k + i]
      if redis.call('HEXISTS', key, currentField) == 0 then
        for _, field in ipairs(redis.call('HKEYS', key)) do
          if field ~= previousField then
            redis.call('HDEL', key, field)
          end
        end
      end
      redis.call('HINCRBY', key, currentField, ARGV[a + 2 * i - 1])
      redis.call('PEXPIRE', key, 2 * w)
    end
  end
  k = k + n
  a = a + 2 * n
end
reply[#reply + 1] = index
return reply
`,
  /**
   * unhitWindows: KEYS are window hashes; ARGV[1] the fixed window's field, ARGV[1 + i] the cost
   * to take back at KEYS[i]. Never below zero; a field no longer kept is left alone; TTLs unchanged.
   */
  unhitWindows: `
local field = ARGV[1]
for i = 1, #KEYS do
  local current = tonumber(redis.call('HGET', KEYS[i], field) or '0')
  local take = math.min(current, tonumber(ARGV[1 + i]))
  if take > 0 then
    redis.call('HINCRBY', KEYS[i], field, -take)
  end
end
return 1
`,
} as const;
