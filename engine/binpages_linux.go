package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ReleaseBinaryPages unmaps from this process the pages of its own
// executable that start-up touched, so that the resident set holds the
// code and tables serving requests use rather than all that package
// initialisers, route compilation (pg_query's parser) and the runtime's
// start-up checks read once: about 20 MB of a 42 MB mapped binary, of which
// about 5 MB of text and 10 MB of tables come back under load. pgfast serve
// calls it once it serves. It returns the bytes that were resident in the
// mappings it released.
//
// Only the executable's read-only mappings that hold no private copy of a
// page (smaps' Anonymous: 0) are released: their pages are the file's own,
// so a later access maps the same bytes back from the page cache (a minor
// fault), and nothing is lost. The writable data, and the read-only data
// the dynamic linker relocated (GNU_RELRO), hold private pages and are left
// alone. The pages stay in the page cache, shared and clean; unmapped, they
// are what the kernel reclaims first under memory pressure.
//
// The same mappings get MADV_NOHUGEPAGE: where the page cache holds large
// folios (ext4 since Linux 6.16, xfs, tmpfs with huge=), the kernel would
// otherwise map text in 2 MB units again, and the few functions a request
// calls would keep most of a 19 MB text segment resident. The cost is more
// TLB entries for the hot code; req/s did not measurably change (README,
// Memory).
func ReleaseBinaryPages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("cannot find the executable: %w", err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("cannot read /proc/self/smaps: %w", err)
	}
	type mapping struct {
		start, end uintptr
		ok         bool // read-only, of exe, no private pages
		rss        int64
	}
	var ms []mapping
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		line := s.Bytes()
		f := bytes.Fields(line)
		if len(f) >= 5 && bytes.IndexByte(f[0], '-') > 0 && len(f[1]) == 4 {
			lo, hi, _ := bytes.Cut(f[0], []byte("-"))
			start, err1 := strconv.ParseUint(string(lo), 16, 64)
			end, err2 := strconv.ParseUint(string(hi), 16, 64)
			perm := string(f[1])
			path := ""
			if len(f) >= 6 {
				path = string(f[5])
			}
			ms = append(ms, mapping{start: uintptr(start), end: uintptr(end),
				ok: err1 == nil && err2 == nil && path == exe && (perm == "r-xp" || perm == "r--p")})
			continue
		}
		if len(ms) == 0 {
			continue
		}
		m := &ms[len(ms)-1]
		switch {
		case bytes.HasPrefix(line, []byte("Anonymous:")):
			if kilobytes(line[len("Anonymous:"):]) != 0 {
				m.ok = false
			}
		case bytes.HasPrefix(line, []byte("Rss:")):
			m.rss = kilobytes(line[len("Rss:"):])
		}
	}
	var released int64
	for _, m := range ms {
		if !m.ok {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_NOHUGEPAGE); e != 0 {
			return released, fmt.Errorf("cannot madvise %x-%x: %w", m.start, m.end, e)
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); e != 0 {
			return released, fmt.Errorf("cannot madvise %x-%x: %w", m.start, m.end, e)
		}
		released += m.rss
	}
	return released, nil
}
