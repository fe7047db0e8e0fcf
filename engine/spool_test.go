package engine

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

// drain reads a spool to its end.
func drain(t *testing.T, s *spool) ([]byte, error) {
	t.Helper()
	var out []byte
	for {
		b, err := s.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b...)
	}
}

// TestSpoolOrderAcrossMemoryAndFile pushes while a slow consumer reads, so
// the data goes memory, file, and back to memory; the bytes must come out
// in order, the budget must come back, and the file must not be visible.
func TestSpoolOrderAcrossMemoryAndFile(t *testing.T) {
	var budget, disk inflight
	var counters streamCounters
	s := newSpool(&budget, 1<<30, &disk, 1<<30, &counters)
	var want bytes.Buffer
	head := []byte("[head]")
	want.Write(head)
	if err := s.start(append([]byte(nil), head...)); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	var got []byte
	var gotErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A consumer that starts late reads everything the producer
		// spilled meanwhile.
		got, gotErr = drain(t, s)
	}()
	buf := getChunk()
	for i := 0; i < 400; i++ {
		n := rnd.IntN(3 * spoolChunk / 2)
		for len(buf) < n {
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, ',')
		}
		want.Write(buf)
		var err error
		if buf, err = s.push(buf); err != nil {
			t.Fatal(err)
		}
		buf = buf[:0]
	}
	s.finish(nil)
	wg.Wait()
	if gotErr != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("got %d bytes (err %v); want the %d pushed, in order", len(got), gotErr, want.Len())
	}
	name := ""
	if s.file != nil {
		name = s.file.Name()
	}
	s.close()
	if _, err := os.Stat(name); name != "" && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spill file %s still exists: %v", name, err)
	}
	if u := budget.used.Load(); u != 0 {
		t.Fatalf("got %d budget bytes held after close; want 0", u)
	}
	if p := budget.peak.Load(); p > spoolMemMax+2*spoolChunk+int64(cap(head)) {
		t.Fatalf("got a peak of %d bytes in memory; want at most the spool's bound", p)
	}
}

// TestSpoolSpillsWithoutBudget: with no budget left everything goes to the
// file, and the result is still whole; a producer error reaches the
// consumer after the bytes before it.
func TestSpoolSpillsWithoutBudget(t *testing.T) {
	var budget, disk inflight
	var counters streamCounters
	s := newSpool(&budget, 0, &disk, 1<<30, &counters)
	if err := s.start([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	b := append(getChunk(), "cd"...)
	if _, err := s.push(b); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	s.finish(boom)
	got, err := drain(t, s)
	if string(got) != "abcd" || err != boom {
		t.Fatalf("got %q, %v; want \"abcd\", boom", got, err)
	}
	if counters.spilled.Load() != 1 || budget.peak.Load() != 0 {
		t.Fatalf("got %d spills, peak %d; want 1 spill, nothing in memory", counters.spilled.Load(), budget.peak.Load())
	}
	s.close()
}

// TestSpoolSpillIsBounded: past server.max_spill_bytes a spill fails (the
// response is cut) and closing the spool returns what it held on disk.
func TestSpoolSpillIsBounded(t *testing.T) {
	var budget, disk inflight
	var counters streamCounters
	s := newSpool(&budget, 0, &disk, 6, &counters)
	if err := s.start([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.push(append(getChunk(), "efgh"...)); !errors.Is(err, errSpillFull) {
		t.Fatalf("push past the spill bound: got %v; want errSpillFull", err)
	}
	if used := disk.used.Load(); used != 4 {
		t.Fatalf("disk budget holds %d bytes; want 4", used)
	}
	s.finish(errSpillFull)
	s.close()
	if used := disk.used.Load(); used != 0 {
		t.Fatalf("after close the disk budget holds %d bytes; want 0", used)
	}
}
