/**
 * Decodes and encodes a hold's record (see `holdRecord`): owner, then key and amount per
 * counter, one per line. Amounts are written with `%d`, never `tostring` (which turns 2^53 into
 * an exponent).
 */
const CODEC = `
local function decode(raw)
  local parts = {}
  for part in string.gmatch(raw, '[^\\n]+') do parts[#parts + 1] = part end
  local order, held = {}, {}
  for i = 2, #parts - 1, 2 do
    order[#order + 1] = parts[i]
    held[parts[i]] = tonumber(parts[i + 1])
  end
  return parts[1], order, held
end
local function encode(owner, order, held)
  local out = {owner}
  for _, name in ipairs(order) do
    out[#out + 1] = name
    out[#out + 1] = string.format('%d', held[name])
  end
  return table.concat(out, '\\n')
end
local function counter(key)
  local raw = redis.call('GET', key)
  if not raw then return 0, false end
  if not string.match(raw, '^-?%d+$') then error('value at ' .. key .. ' is not an integer counter') end
  return tonumber(raw), true
end
`;

/**
 * The Lua scripts of the journaled holds (`StateBackend.reserveHold`, `settleHold`,
 * `releaseHolds`). Each is one atomic step; every key it touches is passed in KEYS and shares the
 * caller's hash tag. The journal stores keys as the caller names them (without the backend's
 * prefix), passed in ARGV beside their KEYS.
 */
export const redisHoldLua = {
  /**
   * KEYS marker, counters…, index, required keys…; ARGV ttlMs, member, owner, then amount and
   * limit per key (marker first), then the caller's name of each counter, then the number of
   * required keys → {2, positions…} (1-based) when required keys are absent, else {1} or
   * {0, index, current} as `reserve`. On admission, adds the amounts to the member's record and
   * extends the index's TTL.
   */
  reserveHold: `${CODEC}
local r = tonumber(ARGV[#ARGV])
local n = #KEYS - 1 - r
local missing = {2}
for j = 1, r do
  if redis.call('EXISTS', KEYS[n + 1 + j]) == 0 then missing[#missing + 1] = j end
end
if #missing > 1 then return missing end
local ttl = tonumber(ARGV[1])
local pending = {}
for i = 1, n do
  local key = KEYS[i]
  local amount = tonumber(ARGV[2 + 2 * i])
  local limit = tonumber(ARGV[3 + 2 * i])
  local current = pending[key]
  if current == nil then current = counter(key) end
  if current + amount > limit then
    return {0, i - 1, current}
  end
  pending[key] = current + amount
end
for i = 1, n do
  redis.call('INCRBY', KEYS[i], ARGV[2 + 2 * i])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
local index = KEYS[n + 1]
local owner, order, held = ARGV[3], {}, {}
local raw = redis.call('HGET', index, ARGV[2])
if raw then owner, order, held = decode(raw) end
for i = 2, n do
  local name = ARGV[2 + 2 * n + i]
  if held[name] == nil then
    order[#order + 1] = name
    held[name] = 0
  end
  held[name] = held[name] + tonumber(ARGV[2 + 2 * i])
end
redis.call('HSET', index, ARGV[2], encode(owner, order, held))
if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
return {1}
`,

  /**
   * KEYS marker, index, add keys…, replace keys…; ARGV ttlMs, member, number of add keys, an
   * amount per add and replace key, then the caller's name of each replace key → when settled
   * now, {1, the value after the step of each add key, then of each replace key}; {0} when the
   * marker was gone (nothing written).
   */
  settleHold: `${CODEC}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local ttl = tonumber(ARGV[1])
local after = {1}
local adds = tonumber(ARGV[3])
local replaces = #KEYS - 2 - adds
local held = {}
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if raw then
  local _, _, journaled = decode(raw)
  held = journaled
end
for i = 1, adds do
  local amount = tonumber(ARGV[3 + i])
  if amount > 0 then
    after[#after + 1] = redis.call('INCRBY', KEYS[2 + i], ARGV[3 + i])
    redis.call('PEXPIRE', KEYS[2 + i], ttl)
  else
    after[#after + 1] = counter(KEYS[2 + i])
  end
end
for j = 1, replaces do
  local key = KEYS[2 + adds + j]
  local current, exists = counter(key)
  local value = current + tonumber(ARGV[3 + adds + j]) - (held[ARGV[3 + adds + replaces + j]] or 0)
  if value > 0 then
    redis.call('SET', key, string.format('%d', value), 'PX', ttl)
    after[#after + 1] = value
  else
    if exists then redis.call('DEL', key) end
    after[#after + 1] = 0
  end
end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return after
`,

  /**
   * KEYS index, one marker per hold, counters…; ARGV markerTtlMs, number of holds, member and
   * owner per hold, then the caller's name of each counter → member and raw record of every hold
   * released, flattened.
   */
  releaseHolds: `${CODEC}
local index = KEYS[1]
local markerTtl = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local declared = {}
for i = 2 + n, #KEYS do declared[ARGV[i + n + 1]] = KEYS[i] end
local released = {}
for h = 1, n do
  local member = ARGV[1 + 2 * h]
  local raw = redis.call('HGET', index, member)
  if raw then
    local owner, order, held = decode(raw)
    local ok = owner == ARGV[2 + 2 * h]
    for _, name in ipairs(order) do
      if declared[name] == nil then ok = false end
    end
    if ok then
      for _, name in ipairs(order) do
        local key = declared[name]
        if held[name] > 0 and redis.call('EXISTS', key) == 1 then
          if redis.call('DECRBY', key, string.format('%d', held[name])) <= 0 then redis.call('DEL', key) end
        end
      end
      redis.call('HDEL', index, member)
      if redis.call('PTTL', KEYS[1 + h]) > markerTtl then redis.call('PEXPIRE', KEYS[1 + h], markerTtl) end
      released[#released + 1] = member
      released[#released + 1] = raw
    end
  end
end
return released
`,
} as const;
