package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// sd_notify(3) states pgfast sends when NOTIFY_SOCKET is set (systemd's
// Type=notify; see deploy/pgfast.service).
const (
	sdReady        = "READY=1"
	sdStopping     = "STOPPING=1"
	sdReloading    = "RELOADING=1"
	sdWatchdogPing = "WATCHDOG=1"
)

// sdNotify sends state (newline-separated VAR=value lines) to the service
// manager's socket named by NOTIFY_SOCKET: a filesystem path, or an abstract
// socket written with a leading '@'. Without NOTIFY_SOCKET it does nothing
// and returns nil, so pgfast runs the same outside systemd.
//
// It is the few lines of the protocol, written out rather than taken from
// go-systemd: one unix datagram per call, no cgo, no dependency. Go's
// syscall already turns a leading '@' into the NUL of an abstract address.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		// systemd ≥ 254 may also name a vsock ("vsock:CID:PORT"), used only
		// for whole VMs; pgfast runs as a service, where it is a path.
		return fmt.Errorf("cannot notify systemd: NOTIFY_SOCKET=%q is neither a path nor an abstract socket (@name)", addr)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("cannot notify systemd on NOTIFY_SOCKET %s: %w", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("cannot notify systemd on NOTIFY_SOCKET %s: %w", addr, err)
	}
	return nil
}

// sdMainPID is the state that makes pid the service's main process: sent
// by a process that pgfast started for a SIGUSR2 upgrade, and by the old
// process once its successor is ready, since systemd only knows the PID it
// started itself.
func sdMainPID(pid int) string { return "MAINPID=" + strconv.Itoa(pid) }

// sdWatchdogInterval is how often to send WATCHDOG=1: half of
// WATCHDOG_USEC, as sd_watchdog_enabled(3) advises. It is 0 when systemd
// asked for no watchdog, or asked it of another process (WATCHDOG_PID).
func sdWatchdogInterval() time.Duration {
	if p := os.Getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0
	}
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// sdWatchdog sends WATCHDOG=1 every interval until ctx ends. The pings
// come from a goroutine of the serving process, so a hung process (a
// deadlock, a stuck runtime, a host that stopped scheduling it) misses them
// and systemd restarts it.
func sdWatchdog(ctx context.Context, interval time.Duration, notify func(string)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			notify(sdWatchdogPing)
		}
	}
}
