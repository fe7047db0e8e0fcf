package limiter

import (
	"crypto/sha1"
	"encoding/hex"
)

// The Lua scripts run one decision atomically inside Redis (a script runs
// without interleaving other commands), so every pgfast instance sharing the
// server shares one budget. They only move the state; the Decision numbers
// are computed in Go by the same code the local limiters use.
//
// Lua numbers in Redis are doubles, exact up to 2^53, so time travels in
// microseconds (Unix time in µs is about 2^51). Numbers are written back
// with string.format("%d") because Redis's number-to-string conversion may
// use an exponent. Each key gets a TTL at which its state would be that of
// an unknown key, so Redis memory follows the number of active keys; ARGV[4]
// adds grace milliseconds to it (see RedisOptions.CallerClock).

// gcraScript: KEYS[1] the key; ARGV now (µs, or -1 for the server's TIME),
// T and tau (µs), TTL grace (ms). Returns {allowed, now, tat}, tat after the update when
// allowed, unchanged when rejected.
const gcraScript = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if tat < now then
  tat = now
end
if tat - now > tau then
  return {0, now, tat}
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + tonumber(ARGV[4]))
return {1, now, tat}
`

// windowScript: KEYS[1] the key; ARGV now (µs, or -1 for the server's
// TIME), the window length (µs), the limit, TTL grace (ms). The state is the string
// "WINDOW CURRENT PREVIOUS". Returns {allowed, elapsed, current, previous},
// the counts after the decision and elapsed the µs into the current window.
const windowScript = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local per = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local elapsed = math.fmod(now, per)
local win = (now - elapsed) / per
local cur, prev = 0, 0
local s = redis.call('GET', KEYS[1])
if s then
  local sw, sc, sp = string.match(s, '^(%d+) (%d+) (%d+)$')
  sw = tonumber(sw)
  if sw == win then
    cur, prev = tonumber(sc), tonumber(sp)
  elseif sw == win - 1 then
    prev = tonumber(sc)
  end
end
if cur + math.floor(prev * (per - elapsed) / per) >= limit then
  return {0, elapsed, cur, prev}
end
cur = cur + 1
redis.call('SET', KEYS[1], string.format('%d %d %d', win, cur, prev), 'PX', math.ceil(((win + 2) * per - now) / 1000) + tonumber(ARGV[4]))
return {1, elapsed, cur, prev}
`

// script is a Lua script and its SHA1, the name EVALSHA calls it by; Redis
// derives the same name in SCRIPT LOAD.
type script struct {
	src string
	sha string
}

func newScript(src string) script {
	sum := sha1.Sum([]byte(src))
	return script{src: src, sha: hex.EncodeToString(sum[:])}
}
