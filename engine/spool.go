package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// A large result is read from PostgreSQL at the database's pace into a
// spool and written to the client from it at the client's pace, so a slow
// reader never holds a pool connection (DESIGN §4). Read-ahead lives in
// memory up to spoolMemMax per response and while the process-wide budget
// (server.max_inflight_response_bytes) lasts; past either it spills to a
// temporary file. The response is always complete: spilling trades disk
// for memory, it never cuts. (A client that reads too slowly is cut by
// server.stream_min_rate, not by the spool.)

// spoolChunk is the unit of read-ahead: rows are encoded into a chunk of
// about this size, which then goes to memory or to the file whole. 64 KiB
// keeps the syscalls per MB few and the memory per response small.
const spoolChunk = 64 << 10

// spoolMemMax bounds one response's read-ahead held in memory: four chunks.
// With the handler's first buffer (at most cache.stream_threshold_bytes for
// a route, streamChunk for /v1/query) and one encoding and one file-reading
// chunk, a large response holds a few hundred KiB at most beyond what a
// buffered one of the stream threshold holds anyway.
const spoolMemMax = 4 * spoolChunk

// chunkPool recycles spool chunks. A chunk a very wide row grew past twice
// its size is dropped rather than pooled (STYLE §7).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, spoolChunk); return &b }}

func getChunk() []byte { return (*chunkPool.Get().(*[]byte))[:0] }

func putChunk(b []byte) {
	if cap(b) < spoolChunk || cap(b) > 2*spoolChunk {
		return
	}
	b = b[:0]
	chunkPool.Put(&b)
}

// spool is a single-producer, single-consumer byte queue: memory chunks
// first, then an unlinked temporary file. The producer never waits for the
// consumer. Order holds because data goes to memory only while the file
// has no unread bytes, so unread file bytes are always newer than every
// queued chunk, and the consumer takes memory first.
type spool struct {
	budget   *inflight
	limit    int64 // server.max_inflight_response_bytes when the response began
	disk     *inflight
	diskMax  int64 // server.max_spill_bytes when the response began
	counters *streamCounters

	mu       sync.Mutex
	head     []byte   // the handler's first buffer, when it got budget
	mem      [][]byte // read-ahead chunks, oldest first
	memBytes int64    // cap of mem: what spoolMemMax bounds
	file     *os.File // created on the first spill, already unlinked
	fileW    int64    // bytes written to the file
	fileR    int64    // bytes of the file taken by the consumer
	ended    bool
	err      error         // why the producer stopped early, if it did
	wake     chan struct{} // the producer's "something changed", capacity 1

	// Consumer-side state.
	cur     []byte // bytes last returned by next, released on the next call
	curHeld int64  // budget cur holds
	rbuf    []byte // buffer for reading the file
}

func newSpool(budget *inflight, limit int64, disk *inflight, diskMax int64, counters *streamCounters) *spool {
	return &spool{budget: budget, limit: limit, disk: disk, diskMax: diskMax, counters: counters, wake: make(chan struct{}, 1)}
}

// errSpillFull stops a response whose spill would take the process's
// temporary files past server.max_spill_bytes: its client is cut, its
// statement cancelled. Disk, like memory, is bounded for everyone.
var errSpillFull = errors.New("engine: server.max_spill_bytes reached; response cut")

// start queues the handler's first buffer (already encoded rows): in
// memory if the budget allows, else in the file. It runs before the
// producer starts, so it needs no lock.
func (s *spool) start(head []byte) error {
	if s.budget.tryAcquire(int64(cap(head)), s.limit) {
		s.head = head
		return nil
	}
	return s.spill(head)
}

// push hands over a chunk of encoded rows and returns a buffer for the
// next ones: a fresh chunk when this one was queued in memory, the same one
// when its bytes went to the file.
func (s *spool) push(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	n := int64(cap(b))
	s.mu.Lock()
	if s.fileR == s.fileW && s.memBytes+n <= spoolMemMax && s.budget.tryAcquire(n, s.limit) {
		s.mem = append(s.mem, b)
		s.memBytes += n
		s.mu.Unlock()
		s.signal()
		return getChunk(), nil
	}
	s.mu.Unlock()
	if err := s.spill(b); err != nil {
		return b, err
	}
	s.signal()
	return b[:0], nil
}

// spill appends b to the file, creating it on first use. Only the
// producer writes (or start, before the producer exists); the consumer
// reads with ReadAt up to fileW, which is published under the lock after
// the bytes are written.
func (s *spool) spill(b []byte) error {
	if !s.disk.tryAcquire(int64(len(b)), s.diskMax) {
		return errSpillFull
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "pgfast-spool-*")
		if err != nil {
			return fmt.Errorf("cannot spill a large response to a temporary file: %w", err)
		}
		// Unlinked at once: the bytes live until the file is closed and
		// nothing is left behind if the process dies.
		_ = os.Remove(f.Name())
		s.counters.spilled.Add(1)
		s.mu.Lock()
		s.file = f
		s.mu.Unlock()
	}
	if _, err := s.file.Write(b); err != nil {
		return fmt.Errorf("cannot spill a large response to a temporary file: %w", err)
	}
	s.mu.Lock()
	s.fileW += int64(len(b))
	s.mu.Unlock()
	return nil
}

// finish marks the end of the producer's data: err nil for a complete
// result, else why it stopped.
func (s *spool) finish(err error) {
	s.mu.Lock()
	s.ended, s.err = true, err
	s.mu.Unlock()
	s.signal()
}

func (s *spool) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next returns the next bytes of the body, waiting for the producer when
// it has none yet; io.EOF after the last of a complete result, the
// producer's error after the last bytes of a failed one. The bytes are
// valid until the next call to next or close.
func (s *spool) next() ([]byte, error) {
	s.releaseCur()
	for {
		s.mu.Lock()
		if s.head != nil {
			b := s.head
			s.head = nil
			s.mu.Unlock()
			s.cur, s.curHeld = b, int64(cap(b))
			return b, nil
		}
		if len(s.mem) > 0 {
			b := s.mem[0]
			copy(s.mem, s.mem[1:])
			s.mem[len(s.mem)-1] = nil
			s.mem = s.mem[:len(s.mem)-1]
			s.memBytes -= int64(cap(b))
			s.mu.Unlock()
			s.cur, s.curHeld = b, int64(cap(b))
			return b, nil
		}
		if s.fileR < s.fileW {
			f, off, n := s.file, s.fileR, min(s.fileW-s.fileR, spoolChunk)
			s.mu.Unlock()
			return s.readFile(f, off, n)
		}
		if s.ended {
			err := s.err
			s.mu.Unlock()
			if err == nil {
				err = io.EOF
			}
			return nil, err
		}
		s.mu.Unlock()
		<-s.wake
	}
}

func (s *spool) readFile(f *os.File, off, n int64) ([]byte, error) {
	if s.rbuf == nil {
		s.rbuf = getChunk()
	}
	m, err := f.ReadAt(s.rbuf[:n], off)
	if m < int(n) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("cannot read back a spilled response: %w", err)
	}
	s.mu.Lock()
	s.fileR += n
	s.mu.Unlock()
	return s.rbuf[:n], nil
}

// releaseCur gives back the budget and chunk of the bytes next returned
// last time; the consumer has written them.
func (s *spool) releaseCur() {
	if s.cur == nil {
		return
	}
	s.budget.release(s.curHeld)
	putChunk(s.cur)
	s.cur, s.curHeld = nil, 0
}

// close frees what the spool holds: budget, chunks, the file. The producer
// must have stopped (its goroutine exited) before close is called.
func (s *spool) close() {
	s.releaseCur()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head != nil {
		s.budget.release(int64(cap(s.head)))
		s.head = nil
	}
	for i, b := range s.mem {
		s.budget.release(int64(cap(b)))
		putChunk(b)
		s.mem[i] = nil
	}
	s.mem, s.memBytes = nil, 0
	if s.rbuf != nil {
		putChunk(s.rbuf)
		s.rbuf = nil
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.disk.release(s.fileW)
	s.fileW = 0
}
