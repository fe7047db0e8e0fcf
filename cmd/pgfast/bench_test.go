package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// servePID finds the pid bench reports for the pgfast it started.
var servePID = regexp.MustCompile(`pgfast serving as pid (\d+) `)

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !gone(pid); {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pgfast (pid %d) still runs after bench ended", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bench --standalone serves from a pgfast process of its own, so the memory
// row is that process's and carries no note about the load generator, and
// the process is gone once bench exits.
func TestBenchStandaloneProcess(t *testing.T) {
	cmd := exec.Command(binary(t), "bench", "--standalone", "--customers", "500", "--scenarios", "ping,memory",
		"--duration", "1s", "--connections", "16")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	m := servePID.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("bench: %v; got no pgfast pid in\n%s", err, stderr.String())
	}
	pid, _ := strconv.Atoi(m[1])
	waitGone(t, pid)
	if err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "\nmemory ") || !strings.Contains(out, "peak RSS") || strings.Contains(out, "load generator") {
		t.Fatalf("got report\n%s\nwant a memory row measured on the pgfast process alone", out)
	}
}

// Ctrl-C stops bench in the middle of a scenario, and bench stops its pgfast.
func TestBenchStandaloneInterrupted(t *testing.T) {
	cmd := exec.Command(binary(t), "bench", "--standalone", "--customers", "500", "--scenarios", "ping",
		"--duration", "60s", "--connections", "8")
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.Discard, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); w.Close() }()
	pids := make(chan int, 1)
	var rest sync.WaitGroup
	rest.Add(1)
	go func() {
		defer rest.Done()
		sc := bufio.NewScanner(r)
		found := false
		for sc.Scan() {
			if m := servePID.FindStringSubmatch(sc.Text()); m != nil && !found {
				pid, _ := strconv.Atoi(m[1])
				pids <- pid
				found = true
			}
			if strings.Contains(sc.Text(), "ping   running") && found {
				close(pids)
				found = false // signal once
			}
		}
		io.Copy(io.Discard, r)
	}()
	var pid int
	select {
	case pid = <-pids:
	case err := <-exited:
		t.Fatalf("bench exited before pgfast served: %v", err)
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("pgfast did not serve within 90s")
	}
	// Interrupt once the load runs, as a terminal's Ctrl-C would (bench
	// only: pgfast leads a process group of its own).
	select {
	case <-pids:
	case <-time.After(30 * time.Second):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("bench did not stop within 30s of SIGINT")
	}
	rest.Wait()
	waitGone(t, pid)
}
