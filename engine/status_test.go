package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestStatusPageInBrowser opens the admin listener's status page in a real
// headless Chromium under a little load: routes, pools and limiter
// figures are shown, and change as requests arrive. A PNG screenshot is
// kept as an artifact (its path is printed; outside the repository).
func TestStatusPageInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Fatal("no Chromium on PATH; `make deps` installs Debian's chromium")
	}
	ts := startServer(t, parseConfig(t, `
limits: {default: 1000/s}
routes:
  - name: item
    path: /items/{id}
    sql: SELECT id, name FROM items WHERE id = $1
    params: [path.id]
`), pgtest.NewDatabase(t, routeSchema))
	for i := range 20 {
		get(t, fmt.Sprintf("%s/items/%d", ts.url, i%3+1)).expect(t, 200)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(420, 900)) // a phone-sized window
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.admin+"/"),
		chromedp.WaitVisible(chromedp.Search(`//table[@id="routes"]//td[text()="item"]`))); err != nil {
		t.Fatalf("status page: %v", err)
	}
	read := func() (routes, pools, limits string) {
		t.Helper()
		var err error
		for _, tbl := range []struct {
			id  string
			out *string
		}{{"routes", &routes}, {"pools", &pools}, {"limits", &limits}} {
			if *tbl.out, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID(tbl.id))); err != nil {
				t.Fatalf("reading #%s: %v", tbl.id, err)
			}
		}
		return routes, pools, limits
	}
	routes, pools, limits := read()
	for _, want := range []struct{ table, text string }{{routes, "item"}, {routes, "p99 ms"}, {pools, "main"}, {limits, "default"}} {
		if !strings.Contains(want.table, want.text) {
			t.Fatalf("status page lacks %q in %q", want.text, want.table)
		}
	}
	before := routes
	for i := range 30 {
		get(t, fmt.Sprintf("%s/items/%d", ts.url, i%3+1)).expect(t, 200)
	}
	// The page refreshes itself every 2 s: wait for the figures to move.
	deadline := time.Now().Add(20 * time.Second)
	for routes == before {
		if time.Now().After(deadline) {
			t.Fatalf("the routes table did not change after 30 more requests: %q", routes)
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		routes, _, _ = read()
	}
	if !strings.Contains(routes, "50") {
		t.Fatalf("routes table after 50 requests: %q; want the count", routes)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "pgfast-status-page.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("status page screenshot: %s (%d bytes)", out, len(png))
}
