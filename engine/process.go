package engine

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// ProcessStats is the process's memory as the operating system sees it:
// what /admin/stats reports under `process` and bench's memory row reads.
type ProcessStats struct {
	// RSSBytes is the resident set size now (Linux VmRSS).
	RSSBytes int64 `json:"rss_bytes"`
	// MaxRSSBytes is the largest resident set size since start (Linux
	// VmHWM; elsewhere getrusage's maxrss).
	MaxRSSBytes int64 `json:"max_rss_bytes"`
}

// processStats reads /proc/self/status, falling back to getrusage for the
// peak where /proc is not there.
func processStats() ProcessStats {
	var ps ProcessStats
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		s := bufio.NewScanner(bytes.NewReader(b))
		for s.Scan() {
			line := s.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte("VmRSS:")):
				ps.RSSBytes = kilobytes(line[len("VmRSS:"):])
			case bytes.HasPrefix(line, []byte("VmHWM:")):
				ps.MaxRSSBytes = kilobytes(line[len("VmHWM:"):])
			}
		}
		return ps
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		ps.MaxRSSBytes = int64(ru.Maxrss) << 10 // kilobytes on Linux and the BSDs
	}
	return ps
}

// kilobytes parses "   123456 kB".
func kilobytes(v []byte) int64 {
	v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n << 10
}
