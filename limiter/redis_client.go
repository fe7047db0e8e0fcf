package limiter

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// NewRedisClient builds the go-redis client for url (go-redis ParseURL
// syntax, as RedisOptions.URL) so that no call on it can take much longer
// than timeout (RedisOptions.Timeout; it must be positive). It is the one place a limiter's client is made:
// NewRedis uses it for RedisOptions.URL, and a caller sharing one client
// between several limiters (RedisOptions.Client) must use it too, with the
// same timeout those limiters are given.
//
// go-redis's own defaults suit a cache, not a decision on the request
// path: 5s dial, read and write timeouts, a pool wait of about as long,
// three retries, and context deadlines ignored. Against a Redis that
// accepts connections but never answers (stopped with SIGSTOP, a full
// kernel backlog, a half-open link) each of those is paid in full by the
// request waiting on it. Here every socket operation, the pool wait and the
// connection handshake are bounded by timeout, context deadlines are
// honoured, and failed commands are not retried (the local fallback is the
// retry).
func NewRedisClient(url string, timeout time.Duration) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%w: Redis.URL: %w", ErrInvalidOptions, err)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("%w: Redis timeout %s: want a positive duration (a zero deadline fails every call)", ErrInvalidOptions, timeout)
	}
	o.ContextTimeoutEnabled = true
	o.DialTimeout = timeout
	o.ReadTimeout = timeout
	o.WriteTimeout = timeout
	o.PoolTimeout = timeout
	o.MaxRetries = -1
	o.DialerRetries = 1
	// No CLIENT SETINFO and no maintenance-notification handshake: fewer
	// round trips on each new connection, which matters after an outage.
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(o), nil
}
