package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgfast/pgfast/config"
)

// A zero-downtime upgrade (SIGUSR2, pingap's -u) hands the listening
// sockets to a new copy of the binary:
//
//  1. The old process starts os.Executable() with its own arguments and
//     environment, the public and admin sockets as inherited descriptors
//     (3, 4, …, named in PGFAST_LISTEN_FDS) and the write end of a pipe
//     (PGFAST_UPGRADE_READY_FD).
//  2. The new process loads its config, builds its listeners from those
//     descriptors instead of binding, starts serving, tells systemd it is
//     the main process (MAINPID, READY=1) and writes "ready" to the pipe.
//  3. The old process reads it, passes MAINPID on too, stops accepting,
//     finishes its in-flight requests (the SIGTERM drain) and exits 0.
//
// Both processes accept from the same kernel socket until the old one
// closes its copy, so no connection is refused or lost in between. If the
// new process exits, or is not ready within upgradeTimeout, the old one
// stops it (SIGTERM, then SIGKILL) and keeps serving.
//
// `pgfast bench --standalone` starts pgfast through steps 1 and 2 too, with
// sockets it bound on free ports (bench/serve_process.go, whose names must
// stay these), and stops it with SIGTERM when the scenarios end.
//
// Embedded mode (no database configured) refuses upgrades: the new process
// would start a second PostgreSQL on the same data directory, and the old
// one stops its cluster on the way out. Restart instead.
const (
	envListenFDs = "PGFAST_LISTEN_FDS"       // "public=3,admin=4"
	envReadyFD   = "PGFAST_UPGRADE_READY_FD" // "5"

	// upgradeTimeout bounds how long the new process may take to load its
	// config, open its pools and prepare every route.
	upgradeTimeout = 60 * time.Second
	// upgradeStopTimeout is how long a new process that failed gets to
	// drain after SIGTERM before it is killed.
	upgradeStopTimeout = 10 * time.Second

	upgradeReadyLine = "ready\n"
)

// inherited is what a process started by an upgrade got from its parent.
type inherited struct {
	public, admin net.Listener
	ready         *os.File // the pipe to write upgradeReadyLine to; nil once written
}

// inheritListeners returns the listeners handed down by the old process, or
// nil when this process was not started by an upgrade. It clears the
// variables, so a later upgrade of this process starts from scratch.
func inheritListeners() (*inherited, error) {
	spec, readyFD := os.Getenv(envListenFDs), os.Getenv(envReadyFD)
	if spec == "" {
		return nil, nil
	}
	os.Unsetenv(envListenFDs)
	os.Unsetenv(envReadyFD)
	in := &inherited{}
	for _, item := range strings.Split(spec, ",") {
		name, fdText, _ := strings.Cut(item, "=")
		fd, err := strconv.Atoi(fdText)
		if err != nil || fd < 3 || (name != "public" && name != "admin") {
			in.close()
			return nil, fmt.Errorf("cannot use the listeners of the previous process: bad %s=%q", envListenFDs, spec)
		}
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f) // a dup: f is not needed after
		f.Close()
		if err != nil {
			in.close()
			return nil, fmt.Errorf("cannot use the %s listener of the previous process (fd %d): %w", name, fd, err)
		}
		if name == "public" {
			in.public = ln
		} else {
			in.admin = ln
		}
	}
	if fd, err := strconv.Atoi(readyFD); err == nil && fd >= 3 {
		// Not for an embedded PostgreSQL this process may start: a copy
		// there would hide this process's exit from the old one.
		syscall.CloseOnExec(fd)
		in.ready = os.NewFile(uintptr(fd), "upgrade-ready")
	}
	if in.public == nil {
		in.close()
		return nil, fmt.Errorf("cannot use the listeners of the previous process: %s=%q names no public listener", envListenFDs, spec)
	}
	return in, nil
}

func (in *inherited) close() {
	for _, ln := range []net.Listener{in.public, in.admin} {
		if ln != nil {
			ln.Close()
		}
	}
	if in.ready != nil {
		in.ready.Close()
	}
}

// signalReady tells the old process that this one is serving.
func (in *inherited) signalReady() error {
	if in.ready == nil {
		return nil
	}
	_, err := in.ready.WriteString(upgradeReadyLine)
	in.ready.Close()
	in.ready = nil
	return err
}

// openListeners binds server.addr and server.admin_addr, or takes the
// sockets in (nil outside an upgrade) in their place. The inherited
// sockets win over the config's addresses: moving to another address
// takes a restart.
func openListeners(cfg *config.Config, in *inherited) (ln, adminLn net.Listener, err error) {
	adminOn := cfg.Server.AdminAddr != "" && cfg.Server.AdminAddr != "off"
	if in != nil {
		ln = in.public
		if adminOn {
			adminLn = in.admin
		} else if in.admin != nil {
			in.admin.Close()
		}
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Server.Addr); err != nil {
			return nil, nil, fmt.Errorf("cannot listen on server.addr %s: %w", cfg.Server.Addr, err)
		}
	}
	if adminOn && adminLn == nil {
		if adminLn, err = net.Listen("tcp", cfg.Server.AdminAddr); err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("cannot listen on server.admin_addr %s: %w", cfg.Server.AdminAddr, err)
		}
	}
	return ln, adminLn, nil
}

// upgrade is a new process started by SIGUSR2 that has not yet taken over.
type upgrade struct {
	cmd    *exec.Cmd
	done   chan error // one value: nil once the new process is ready
	cancel context.CancelFunc
}

// startUpgrade starts the new process with copies of ln and adminLn
// (adminLn may be nil) and waits for it in the background: done gets nil
// when it is serving, or why it is not (it is stopped by then).
func startUpgrade(ln, adminLn net.Listener) (*upgrade, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the pgfast binary to start: %w", err)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close() // the child has its copies once Start returns
		}
	}()
	var spec []string
	for _, l := range []struct {
		name string
		ln   net.Listener
	}{{"public", ln}, {"admin", adminLn}} {
		if l.ln == nil {
			continue
		}
		f, err := listenerFile(l.ln, l.name)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		spec = append(spec, fmt.Sprintf("%s=%d", l.name, 2+len(files))) // ExtraFiles[i] is fd 3+i
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cannot create the upgrade pipe: %w", err)
	}
	files = append(files, w)

	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	cmd.Env = append(upgradeEnv(os.Environ()),
		envListenFDs+"="+strings.Join(spec, ","),
		envReadyFD+"="+strconv.Itoa(2+len(files)))
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("cannot start %s: %w", exe, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &upgrade{cmd: cmd, done: make(chan error, 1), cancel: cancel}
	go u.wait(ctx, r)
	return u, nil
}

// upgradeEnv is the old process's environment for the new one, less the
// variables that were meant for the old process only. WATCHDOG_PID names
// the old process: without it the new one pings systemd's watchdog itself.
func upgradeEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != envListenFDs && name != envReadyFD && name != "WATCHDOG_PID" {
			out = append(out, kv)
		}
	}
	return out
}

// listenerFile returns a duplicate of ln's socket for ExtraFiles. It is
// not ln.(*net.TCPListener).File(): exec calls Fd on what it passes, which
// for a file from net puts the socket, shared with ln, into blocking mode;
// ln's Accept would then block in the kernel and its Close would wait for
// one more connection. A descriptor duplicated here stays non-blocking.
func listenerFile(ln net.Listener, name string) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("cannot hand the %s listener over: %T has no file descriptor", name, ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("cannot hand the %s listener over: %w", name, err)
	}
	var fd int
	var dupErr error
	err = rc.Control(func(s uintptr) {
		// Under ForkLock with close-on-exec, as the standard library does,
		// so no other exec of this process inherits it.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, dupErr = syscall.Dup(int(s)); dupErr == nil {
			syscall.CloseOnExec(fd)
		}
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, fmt.Errorf("cannot hand the %s listener over: dup: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (u *upgrade) pid() int { return u.cmd.Process.Pid }

// wait reads the new process's ready line from r, and stops the process
// when it does not come.
func (u *upgrade) wait(ctx context.Context, r *os.File) {
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(upgradeTimeout))
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err == nil && line == upgradeReadyLine {
		u.done <- nil
		return
	}
	switch {
	case ctx.Err() != nil:
		err = errors.New("upgrade cancelled")
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("the new process (pid %d) was not ready within %s", u.pid(), upgradeTimeout)
	default:
		err = fmt.Errorf("the new process (pid %d) exited before it was ready", u.pid())
	}
	if werr := u.stop(); werr != nil {
		err = fmt.Errorf("%w: %v", err, werr)
	}
	u.done <- err
}

// stop ends the new process that did not take over and returns how it
// ended: SIGTERM first, since it may already accept connections on the
// shared sockets and should finish them.
func (u *upgrade) stop() error {
	exited := make(chan error, 1)
	go func() { exited <- u.cmd.Wait() }()
	u.cmd.Process.Signal(syscall.SIGTERM)
	kill := time.NewTimer(upgradeStopTimeout)
	defer kill.Stop()
	select {
	case err := <-exited:
		return err
	case <-kill.C:
		u.cmd.Process.Kill()
		return fmt.Errorf("killed after %s: %v", upgradeStopTimeout, <-exited)
	}
}

// abort stops an upgrade in progress (a SIGTERM came first) and waits until
// the new process is gone, stopping it too if it became ready meanwhile:
// the signal was meant for the service.
func (u *upgrade) abort() error {
	u.cancel()
	if err := <-u.done; err != nil {
		return err
	}
	return u.stop()
}

// doneChan is u.done, or nil (never ready in a select) without an upgrade.
func (u *upgrade) doneChan() <-chan error {
	if u == nil {
		return nil
	}
	return u.done
}
