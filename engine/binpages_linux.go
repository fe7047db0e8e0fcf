package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReleaseBinaryPages unmaps from this process the pages of its own
// executable that start-up touched, so that the resident set holds the
// code and tables serving requests use rather than all that package
// initialisers, route compilation (pg_query's parser) and the runtime's
// start-up checks read once. pgfast serve calls it once it serves. It
// returns the bytes that were resident in the mappings it released.
//
// Only the executable's read-only mappings that hold no private copy of a
// page (smaps' Anonymous: 0) are released: their pages are the file's own,
// so a later access maps the same bytes back (from the page cache, or read
// again from the file), and nothing is lost. The writable data, and the
// read-only data the dynamic linker relocated (GNU_RELRO), hold private
// pages and are left alone.
//
// The same mappings get MADV_NOHUGEPAGE and MADV_RANDOM, and the file's
// pages that no process maps any more leave the page cache
// (POSIX_FADV_DONTNEED). Where the page cache holds large folios (ext4
// since Linux 6.16, xfs, tmpfs with huge=), the kernel maps a whole folio
// on a fault, up to 2 MB, and readahead (read_ahead_kb, 8 MB on some
// virtual disks) fills the cache with such folios: one request's 18
// faults in the function table mapped 21 MB back (README, Memory). Read
// again one page at a time (MADV_RANDOM turns readahead off), the pages
// requests use come back alone. The cost is one small read per page on
// its first use after start, and more TLB entries for the hot code; req/s
// did not measurably change. Pages another process maps (a second pgfast
// of the same file) stay cached as they are.
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
		exe        bool // a mapping of the executable
		ok         bool // and read-only, no private pages: released
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
			m := mapping{start: uintptr(start), end: uintptr(end), exe: err1 == nil && err2 == nil && path == exe}
			m.ok = m.exe && (perm == "r-xp" || perm == "r--p")
			ms = append(ms, m)
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
	// Readahead off first, on every mapping of the file: a first read
	// of a page of the writable data would otherwise read megabytes of
	// the neighbouring tables into the page cache, in large folios that
	// later faults map whole.
	for _, m := range ms {
		if !m.exe {
			continue
		}
		if err := madvise(m.start, m.end, unix.MADV_NOHUGEPAGE, unix.MADV_RANDOM); err != nil {
			return 0, err
		}
	}
	var released int64
	for _, m := range ms {
		if !m.ok {
			continue
		}
		if err := madvise(m.start, m.end, unix.MADV_DONTNEED); err != nil {
			return released, err
		}
		released += m.rss
	}
	f, err := os.Open(exe)
	if err != nil {
		return released, fmt.Errorf("cannot open the executable: %w", err)
	}
	defer f.Close()
	if err := dropFromPageCache(f); err != nil {
		return released, err
	}
	// The process kept running meanwhile (the GC, the listeners, pgx's
	// health checks): what it touched between the unmapping and the drop
	// came back mapped from the folios still cached, whole. MADV_PAGEOUT
	// unmaps and reclaims those folios; what is in use comes back a page
	// at a time.
	for _, m := range ms {
		if m.ok {
			if err := madvise(m.start, m.end, unix.MADV_PAGEOUT); err != nil {
				return released, err
			}
		}
	}
	return released, dropFromPageCache(f)
}

// madvise gives the advice, in order, for the pages from start to end.
func madvise(start, end uintptr, advice ...int) error {
	for _, a := range advice {
		// syscall, not unix.Madvise: the range is the kernel's mapping,
		// not memory Go allocated, so it stays a uintptr.
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, uintptr(a)); e != 0 {
			return fmt.Errorf("cannot madvise %x-%x (%d): %w", start, end, a, e)
		}
	}
	return nil
}

// dropFromPageCache asks the kernel to drop the clean pages of the
// executable f that no process maps from the page cache.
func dropFromPageCache(f *os.File) error {
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("cannot drop the executable's pages from the page cache: %w", err)
	}
	return nil
}
