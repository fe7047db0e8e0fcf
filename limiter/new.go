package limiter

// New returns the limiter opts describe: a Redis-backed one when
// opts.Redis.URL or opts.Redis.Client is set, otherwise a local GCRA or
// SlidingWindow according to opts.Algorithm.
func New(opts Options) (Limiter, error) {
	if opts.Redis.enabled() {
		r, err := NewRedis(opts)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return newLocal(opts)
}

// newLocal returns the local limiter of opts.Algorithm.
func newLocal(opts Options) (Limiter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Algorithm == AlgorithmSlidingWindow {
		w, err := NewSlidingWindow(opts)
		if err != nil {
			return nil, err
		}
		return w, nil
	}
	g, err := NewGCRA(opts)
	if err != nil {
		return nil, err
	}
	return g, nil
}
