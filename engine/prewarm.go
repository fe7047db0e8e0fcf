package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
)

// prewarmConcurrency bounds the fills one prewarm runs at once. Each holds
// a pool connection while it runs: four overlap their round trips and
// still leave the rest of a pool (max_conns 20 by default) to the requests
// that arrive meanwhile.
const prewarmConcurrency = 4

// prewarm fills st's cache.prewarm entries in the background and returns
// at once: New calls it once the state is stored, ReloadConfig once the new
// state is swapped in. The goroutines count in e.retiring, so Close (which
// cancels the fills in flight) waits for them before it closes the pools
// and the cache. Entries not yet started are dropped when a reload
// replaces st: the new state's own prewarm covers its routes.
//
// Callers hold what makes e.retiring.Add safe against Close's Wait: New has
// not returned the engine yet, and ReloadConfig holds the reload lock and
// has seen the engine open.
func (e *Engine) prewarm(st *state) {
	if len(st.cfg.Cache.Prewarm) == 0 {
		return
	}
	e.retiring.Add(1)
	go func() {
		defer e.retiring.Done()
		e.runPrewarm(st)
	}()
}

// runPrewarm fills the entries with at most prewarmConcurrency at a time
// and logs one line for the whole run, plus one per entry that failed.
func (e *Engine) runPrewarm(st *state) {
	entries := st.cfg.Cache.Prewarm
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-e.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()

	start := time.Now()
	var filled, fresh, failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(prewarmConcurrency, len(entries)) {
		wg.Go(func() {
			for i := range jobs {
				switch done, err := e.prewarmEntry(ctx, st, &entries[i]); {
				case err != nil:
					failed.Add(1)
					e.log.Warn("cannot prewarm cache entry", "entry", fmt.Sprintf("cache.prewarm[%d]", i),
						"route", entries[i].Route, "params", prewarmParams(entries[i].Params), "err", err)
				case done:
					filled.Add(1)
				default:
					fresh.Add(1)
				}
			}
		})
	}
feed:
	for i := range entries {
		if e.state.Load() != st {
			break // replaced by a reload
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	cancel()
	<-watched
	e.log.Info("cache prewarmed", "filled", filled.Load(), "fresh", fresh.Load(), "failed", failed.Load(),
		"skipped", int64(len(entries))-filled.Load()-fresh.Load()-failed.Load(), "duration_ms", time.Since(start).Milliseconds())
}

// prewarmEntry fills one entry unless the cache holds it fresh already
// (a route a reload left unchanged keeps its entries).
// The fill goes through Cache.Do under the key a request carrying the
// entry's params computes (same gather, same cachePolicy.key), so it
// coalesces with a request for the same key and obeys purges like any
// other fill. It reports whether it filled.
func (e *Engine) prewarmEntry(ctx context.Context, st *state, pw *config.Prewarm) (bool, error) {
	i := slices.IndexFunc(st.routes, func(rt *route) bool { return rt.cfg.Name == pw.Route })
	if i < 0 {
		return false, fmt.Errorf("no route named %q", pw.Route)
	}
	rt := st.routes[i]
	cp := rt.ep.cache
	switch {
	case cp == nil:
		return false, fmt.Errorf("route %q has no cache", pw.Route)
	case cp.byRequest:
		return false, fmt.Errorf("route %q is a %s route; only sql routes can be prewarmed", pw.Route, rt.cfg.Backend())
	}
	for _, p := range rt.ep.params {
		if p.source == fromJWT {
			return false, fmt.Errorf("route %q reads %s, and a prewarm carries no token", pw.Route, p.label)
		}
	}
	r := &request{ctx: &fasthttp.RequestCtx{}, st: st, ep: rt.ep}
	if err := prewarmRequest(r, rt, pw.Params); err != nil {
		return false, err
	}
	if err := gather(r, rt.ep.params, &r.values); err != nil {
		return false, err
	}
	fill, ran := cp.fill(r), false
	// Do's own lookup decides freshness (purges and stale marks included);
	// like a request's, it counts as a hit or a miss in the cache's stats.
	ent, _, err := e.cache.Do(ctx, cp.key(r), func(fctx context.Context) (*cache.Entry, error) {
		ran = true
		// Do detaches the fill from ctx's cancellation; Close must still
		// stop it.
		fctx, cancel := context.WithCancel(fctx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		return fill(fctx)
	})
	switch {
	case err != nil:
		return false, err
	case ent == nil || ent.Status == statusStream:
		return false, errors.New("the answer is larger than cache.stream_threshold_bytes, so it streams uncached")
	}
	return ran, nil
}

// prewarmRequest puts an entry's values where a client's request carries
// them: path values straight into r.params (the route is known; routing
// the path could pick a more specific route), query args, headers, and
// body fields as a JSON object of strings, which bodyField reads as the
// same text a client's string or number gives.
func prewarmRequest(r *request, rt *route, values map[string]string) error {
	names := pathNames(rt.cfg.Path)
	r.params.n = len(names)
	req := &r.ctx.Request
	var body map[string]string
	for k, v := range values {
		p, err := config.ParseRouteParam(k)
		if err != nil {
			return err
		}
		switch p.Source {
		case config.SourcePath:
			j := slices.Index(names, p.Name)
			if j < 0 {
				return fmt.Errorf("%s: the path %q has no {%s} segment", k, rt.cfg.Path, p.Name)
			}
			r.params.values[j] = []byte(v)
		case config.SourceQuery:
			req.URI().QueryArgs().Add(p.Name, v)
		case config.SourceHeader:
			req.Header.Set(p.Name, v)
		case config.SourceBody:
			if body == nil {
				body = make(map[string]string)
			}
			body[p.Name] = v
		default:
			return fmt.Errorf("%s: a prewarm can give path, query, header and body params only", k)
		}
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req.Header.SetContentType("application/json")
		req.SetBody(b)
	}
	return nil
}

// prewarmParams renders an entry's params for the log, in a stable order.
func prewarmParams(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + values[k])
	}
	return b.String()
}
