//go:build race

package limiter

// floodKeys is smaller under the race detector, which makes each new key
// about ten times slower (1,000,000 would take a minute on two cores); the
// full million runs in every normal `go test`.
const floodKeys = 100_000
