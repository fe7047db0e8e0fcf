// Package embedpg runs a PostgreSQL cluster from the system's own binaries:
// a throwaway one for tests and benchmarks, or a persistent one that
// `pgfast serve` uses when no database is configured.
package embedpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseName is the database Start creates and URL points at.
const DatabaseName = "pgfast"

// Options configures a cluster. The zero value starts a throwaway cluster in a
// temporary directory on a free port.
type Options struct {
	// Dir is the cluster's home: Dir/data holds the data files, Dir/run the
	// Unix socket and Dir/postgres.log the server log. Empty means a new
	// temporary directory, removed by Stop.
	Dir string
	// Persistent keeps Dir across runs: an existing data directory is reused
	// and Stop leaves it in place. Without it, Stop removes Dir.
	Persistent bool
	// BinDir is where initdb and postgres live; empty searches PATH, then
	// /usr/lib/postgresql/*/bin (newest first).
	BinDir string
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Settings are extra server settings passed as `-c name=value`.
	Settings map[string]string
	// StartTimeout bounds how long Start waits for the server to accept
	// connections. Default 60s.
	StartTimeout time.Duration
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Cluster is a running PostgreSQL server started by Start. Its methods are
// safe for concurrent use; Stop is idempotent.
type Cluster struct {
	opts    Options
	dir     string
	dataDir string
	sockDir string
	logPath string
	port    int
	binDir  string
	user    *RunAs
	// Fresh is true when Start created the data directory (initdb ran), so
	// callers know demo data still has to be loaded.
	Fresh bool

	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Start initialises (when needed) and starts a cluster, waits until it accepts
// connections and makes sure DatabaseName exists.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.withDefaults()
	binDir, err := FindBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	user, err := UnprivilegedUser()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, binDir: binDir, user: user}
	if opts.Dir == "" {
		if opts.Persistent {
			return nil, errors.New("embedpg: Persistent needs Dir")
		}
		dir, err := os.MkdirTemp("", "pgfast-pg-")
		if err != nil {
			return nil, fmt.Errorf("cannot create cluster directory: %w", err)
		}
		c.dir = dir
	} else {
		dir, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve cluster directory %q: %w", opts.Dir, err)
		}
		// Parents we create must stay searchable: the server may run as
		// another user (see runAs) and has to reach dir.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create cluster directory: %w", err)
		}
		c.dir = dir
	}
	if err := user.checkReachable(c.dir); err != nil {
		if !opts.Persistent {
			os.RemoveAll(c.dir)
		}
		return nil, err
	}
	c.dataDir = filepath.Join(c.dir, "data")
	c.sockDir = filepath.Join(c.dir, "run")
	c.logPath = filepath.Join(c.dir, "postgres.log")
	if err := c.start(ctx); err != nil {
		if !opts.Persistent {
			os.RemoveAll(c.dir)
		}
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	if err := os.MkdirAll(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("cannot create socket directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err != nil {
		if err := c.initdb(ctx); err != nil {
			return err
		}
		c.Fresh = true
	}
	if err := c.user.ChownTree(c.dir); err != nil {
		return err
	}
	// A free port can be taken between our probe and the server's bind;
	// try a few times before giving up.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := c.opts.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			port = p
		}
		c.port = port
		lastErr = c.launch(ctx)
		if lastErr == nil {
			return c.ensureDatabase(ctx)
		}
		if c.opts.Port != 0 || !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	return lastErr
}

func (c *Cluster) initdb(ctx context.Context) error {
	c.opts.Logger.Info("initialising PostgreSQL cluster", "dir", c.dataDir)
	if err := c.user.ChownTree(c.dir); err != nil {
		return err
	}
	args := []string{"-D", c.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if !c.opts.Persistent {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.user.Credential()}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("embedpg: initdb in %s failed: %w\n%s", c.dataDir, err, lastLines(out, 20))
	}
	return nil
}

func (c *Cluster) launch(ctx context.Context) error {
	args := []string{
		"-D", c.dataDir,
		"-p", strconv.Itoa(c.port),
		"-k", c.sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=300",
		"-c", "shared_buffers=256MB",
	}
	if !c.opts.Persistent {
		// Throwaway data: durability buys nothing and costs test time.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for k, v := range c.opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open server log: %w", err)
	}
	defer logFile.Close()
	logStart, _ := logFile.Seek(0, 2)

	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if pgfast (or a test binary) dies without calling Stop, the
	// kernel tells the server to shut down, so no cluster outlives its owner.
	// SIGINT is PostgreSQL's "fast shutdown"; SIGQUIT its immediate one.
	sig := syscall.SIGQUIT
	if c.opts.Persistent {
		sig = syscall.SIGINT
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.user.Credential(), Pdeathsig: sig, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		c.exitErr = cmd.Wait()
		close(c.exited)
	}()

	deadline := time.Now().Add(c.opts.StartTimeout)
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("embedpg: postgres exited during start (%v):\n%s", c.exitErr, c.logSince(logStart))
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgconn.Connect(cctx, c.urlFor("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			c.opts.Logger.Info("PostgreSQL ready", "port", c.port, "dir", c.dir)
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("embedpg: postgres did not accept connections within %s: %v\n%s", c.opts.StartTimeout, err, c.logSince(logStart))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := pgconn.Connect(ctx, c.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("cannot connect to new cluster: %w", err)
	}
	defer conn.Close(ctx)
	res := conn.ExecParams(ctx, "SELECT 1 FROM pg_database WHERE datname = $1", [][]byte{[]byte(DatabaseName)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("cannot look up database %s: %w", DatabaseName, res.Err)
	}
	if len(res.Rows) == 1 {
		return nil
	}
	if err := conn.Exec(ctx, "CREATE DATABASE "+DatabaseName).Close(); err != nil {
		return fmt.Errorf("cannot create database %s: %w", DatabaseName, err)
	}
	return nil
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster's home directory.
func (c *Cluster) Dir() string { return c.dir }

// URL is a connection URL for DatabaseName as the superuser "postgres".
func (c *Cluster) URL() string { return c.urlFor(DatabaseName) }

// URLFor is a connection URL for the named database.
func (c *Cluster) URLFor(db string) string { return c.urlFor(db) }

// URLAs is a connection URL for DatabaseName as the given role (the
// cluster trusts local connections: no password).
func (c *Cluster) URLAs(user string) string { return c.url(user, DatabaseName) }

func (c *Cluster) urlFor(db string) string { return c.url("postgres", db) }

func (c *Cluster) url(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, c.port, db)
}

// Stop shuts the server down (fast shutdown: open sessions are ended, data is
// flushed) and, for a throwaway cluster, removes its directory.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			_ = c.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.exited:
			case <-time.After(30 * time.Second):
				c.kill()
				c.stopErr = errors.New("embedpg: postgres did not stop within 30s; killed")
			}
		}
		if !c.opts.Persistent {
			if err := os.RemoveAll(c.dir); err != nil && c.stopErr == nil {
				c.stopErr = fmt.Errorf("cannot remove cluster directory: %w", err)
			}
		}
	})
	return c.stopErr
}

func (c *Cluster) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	// The postmaster leads its own process group (Setpgid): take the
	// backends down with it.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

func (c *Cluster) logSince(offset int64) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return lastLines(b[offset:], 20)
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Exec runs sql (possibly several statements) in database db as the
// superuser.
func (c *Cluster) Exec(ctx context.Context, db, sql string) error {
	conn, err := pgconn.Connect(ctx, c.urlFor(db))
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", db, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("cannot run SQL in %s: %w", db, err)
	}
	return nil
}
