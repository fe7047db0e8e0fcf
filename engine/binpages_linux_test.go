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
	// The text is read back a page at a time, without readahead and not
	// as huge pages: its mapping's VmFlags say rr (MADV_RANDOM) and nh.
	if flags := textFlags(t); !bytes.Contains(flags, []byte(" rr")) || !bytes.Contains(flags, []byte(" nh")) {
		t.Fatalf("the executable's text mapping has VmFlags %q; want rr and nh", flags)
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

// textFlags returns the VmFlags line of the executable's text mapping.
func textFlags(t *testing.T) []byte {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inText := false
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) >= 6 && bytes.IndexByte(f[0], '-') > 0 {
			inText = string(f[1]) == "r-xp" && string(f[5]) == exe
			continue
		}
		if inText && bytes.HasPrefix(line, []byte("VmFlags:")) {
			return line
		}
	}
	t.Fatal("no text mapping of the executable in /proc/self/smaps")
	return nil
}
