package engine

import (
	"bytes"
	"os"
	"testing"
)

// rssFile is RssFile from /proc/self/status: the resident pages that are
// mapped from files, the executable's most of all.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("RssFile:")); ok {
			return kilobytes(v)
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// After ReleaseBinaryPages the test binary runs on (its code maps back in)
// with fewer file pages resident, and a second call finds little to release.
func TestReleaseBinaryPages(t *testing.T) {
	before := rssFile(t)
	released, err := ReleaseBinaryPages()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if released < 1<<20 || after >= before {
		t.Fatalf("released %d bytes; RssFile %d before, %d after; want over 1 MiB released and RssFile lower", released, before, after)
	}
	// Code and tables the release unmapped are mapped back on use.
	if got := processStats(); got.RSSBytes <= 0 {
		t.Fatalf("processStats after the release: got %+v; want a resident set", got)
	}
	again, err := ReleaseBinaryPages()
	if err != nil {
		t.Fatal(err)
	}
	if again >= released {
		t.Fatalf("second release: got %d bytes; want fewer than the first's %d", again, released)
	}
}
