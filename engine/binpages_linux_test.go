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
	// Pages are read back one at a time, without readahead and not as
	// huge pages: every mapping of the executable, the writable data's
	// too, has VmFlags rr (MADV_RANDOM) and nh.
	maps := exeFlags(t)
	if _, ok := maps["r-xp"]; !ok {
		t.Fatalf("no text mapping of the executable among %q", maps)
	}
	for perm, flags := range maps {
		if !bytes.Contains(flags, []byte(" rr")) || !bytes.Contains(flags, []byte(" nh")) {
			t.Errorf("the executable's %s mapping has VmFlags %q; want rr and nh", perm, flags)
		}
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

// exeFlags returns the VmFlags line of each mapping of the executable,
// by its permissions (the last one of each).
func exeFlags(t *testing.T) map[string][]byte {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string][]byte{}
	perm := ""
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) >= 5 && bytes.IndexByte(f[0], '-') > 0 && len(f[1]) == 4 {
			perm = ""
			if len(f) >= 6 && string(f[5]) == exe {
				perm = string(f[1])
			}
			continue
		}
		if perm != "" && bytes.HasPrefix(line, []byte("VmFlags:")) {
			flags[perm] = line
		}
	}
	return flags
}
