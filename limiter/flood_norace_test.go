//go:build !race

package limiter

// floodKeys is the number of distinct keys TestFloodOfIdleKeysExpires sends.
const floodKeys = 1_000_000
