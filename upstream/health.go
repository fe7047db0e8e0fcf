package upstream

import (
	"time"

	"github.com/valyala/fasthttp"
)

// healthLoop checks t every h.Interval until the pool stops. It owns t's
// run lengths (okRun, failRun).
func (p *pool) healthLoop(t *node, h HealthCheck) {
	defer p.wg.Done()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.scheme + "://" + t.addr + h.Path)
	req.Header.SetMethod(fasthttp.MethodGet)

	tick := time.NewTicker(h.Interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		err := t.health.DoTimeout(req, resp, h.Timeout)
		ok := err == nil && resp.StatusCode() >= 200 && resp.StatusCode() < 400
		p.observeHealth(t, h, ok, err, resp.StatusCode())
	}
}

// observeHealth counts one check of t and moves it down after h.Unhealthy
// failures in a row, or up after h.Healthy successes in a row.
func (p *pool) observeHealth(t *node, h HealthCheck, ok bool, err error, status int) {
	if ok {
		t.failRun = 0
		t.okRun++
		if !t.up.Load() && t.okRun >= h.Healthy {
			t.up.Store(true)
			p.log.Info("upstream target up", "target", t.url, "checks", t.okRun)
		}
		return
	}
	t.okRun = 0
	t.failRun++
	if t.up.Load() && t.failRun >= h.Unhealthy {
		t.up.Store(false)
		if err != nil {
			p.log.Warn("upstream target down", "target", t.url, "checks", t.failRun, "path", h.Path, "error", err)
		} else {
			p.log.Warn("upstream target down", "target", t.url, "checks", t.failRun, "path", h.Path, "status", status)
		}
	}
}
