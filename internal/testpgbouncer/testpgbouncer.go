// Package testpgbouncer starts a throwaway PgBouncer for one test, in front
// of a test PostgreSQL: transaction pooling, trust authentication, a free
// 127.0.0.1 port, its ini, log and Unix socket in a temporary directory, and
// stopped when the test ends. Tests never share a pooler, never use a fixed
// port and never touch a system PgBouncer service (DESIGN.md §2, §7).
//
// It is what `statement_cache: describe` is tested through: in transaction
// mode a client's consecutive transactions may run on different server
// connections, and server connections pass from client to client, so a
// named prepared statement made on one is missing (or already taken) on the
// next.
package testpgbouncer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/internal/testproc"
)

// startTimeout bounds how long Start waits for the admin console to answer.
// PgBouncer is up within milliseconds; the margin is for loaded CI hosts.
const startTimeout = 10 * time.Second

// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 5 * time.Second

// DefaultPoolSize is default_pool_size when Options.PoolSize is 0: small, so
// a test with a handful of clients already shares server connections.
const DefaultPoolSize = 2

// DefaultIgnoredStartupParameters is ignore_startup_parameters when
// Options.IgnoreStartupParameters is nil. PgBouncer closes a client
// connection whose startup packet carries a parameter it neither tracks
// (client_encoding, DateStyle, TimeZone, standard_conforming_strings,
// application_name) nor ignores: "unsupported startup parameter: NAME".
// pgfast sends statement_timeout there whenever databases.NAME.statement_timeout
// is set, and it is by default (30s); ignored, it is not applied to the
// server session (put it on the role: ALTER ROLE … SET statement_timeout),
// while pgfast's client-side deadline and the per-route set_config still
// bound a query. extra_float_digits is what most poolers' docs list (JDBC
// and psql send it); pgx does not.
var DefaultIgnoredStartupParameters = []string{"extra_float_digits", "statement_timeout"}

// Options configures Start. The zero value works.
type Options struct {
	// PoolSize is default_pool_size, the server connections per
	// database/user pair. Default DefaultPoolSize. reserve_pool_size is 0,
	// so PgBouncer never opens more than this many to PostgreSQL.
	PoolSize int
	// IgnoreStartupParameters is ignore_startup_parameters. nil means
	// DefaultIgnoredStartupParameters; pass a shorter list to see PgBouncer
	// refuse what it no longer ignores.
	IgnoreStartupParameters []string
}

// Bouncer is a running PgBouncer owned by one test. Its methods are safe
// for concurrent use; Stop is idempotent.
type Bouncer struct {
	dir      string
	port     int
	user     string
	database string
	poolSize int
	version  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	out      *testproc.LockedBuffer
	stopOnce sync.Once
}

// Start starts a PgBouncer in transaction mode in front of upstreamURL (a
// postgres:// URL whose user may log in without a password, as embedpg's
// clusters allow) and registers Stop with tb.Cleanup. Clients reach the
// upstream database under the same name and user at URL. It fails the test
// (it does not skip it) when pgbouncer is not installed: `make deps`
// installs it.
func Start(tb testing.TB, upstreamURL string) *Bouncer {
	tb.Helper()
	return StartWith(tb, upstreamURL, Options{})
}

// StartWith is Start with options.
func StartWith(tb testing.TB, upstreamURL string, o Options) *Bouncer {
	tb.Helper()
	bin, err := findBinary()
	if err != nil {
		tb.Fatalf("testpgbouncer: %v", err)
	}
	version, err := binaryVersion(bin)
	if err != nil {
		tb.Fatalf("testpgbouncer: %v", err)
	}
	up, err := pgconn.ParseConfig(upstreamURL)
	if err != nil {
		tb.Fatalf("testpgbouncer: cannot parse upstream URL: %v", err)
	}
	if !plainName.MatchString(up.User) || !plainName.MatchString(up.Database) {
		tb.Fatalf("testpgbouncer: upstream user %q and database %q must be plain identifiers", up.User, up.Database)
	}
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultPoolSize
	}
	if o.IgnoreStartupParameters == nil {
		o.IgnoreStartupParameters = DefaultIgnoredStartupParameters
	}
	as, err := embedpg.UnprivilegedUser()
	if err != nil {
		tb.Fatalf("testpgbouncer: %v", err)
	}
	// Not tb.TempDir: its parent is 0700 and ours, and when we are root
	// pgbouncer runs as another user that has to reach the directory.
	dir, err := os.MkdirTemp("", "pgfast-pgbouncer-")
	if err != nil {
		tb.Fatalf("testpgbouncer: cannot create directory: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	b := &Bouncer{dir: dir, user: up.User, database: up.Database, poolSize: o.PoolSize, version: version}
	tb.Cleanup(b.Stop)
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(strconv.Quote(up.User)+` ""`+"\n"), 0o600); err != nil {
		tb.Fatalf("testpgbouncer: %v", err)
	}
	// The free port is found by binding :0 and releasing it, so another
	// process may take it before pgbouncer binds; retry with a new one.
	// (listen_port = 0 binds, but pgbouncer never says which port it got.)
	for attempt := 0; ; attempt++ {
		if b.port, err = testproc.FreePort(); err != nil {
			tb.Fatalf("testpgbouncer: %v", err)
		}
		if err := os.WriteFile(b.iniPath(), b.ini(up, o), 0o600); err != nil {
			tb.Fatalf("testpgbouncer: %v", err)
		}
		if err := as.ChownTree(dir); err != nil {
			tb.Fatalf("testpgbouncer: %v", err)
		}
		err = b.start(bin, as)
		if err == nil {
			return b
		}
		if attempt == 2 || !strings.Contains(err.Error(), "in use") {
			tb.Fatalf("testpgbouncer: %v", err)
		}
	}
}

// plainName is what the ini is written with unquoted.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (b *Bouncer) iniPath() string { return filepath.Join(b.dir, "pgbouncer.ini") }

// ini renders pgbouncer.ini. server_login_retry is short so a refused
// server login costs a test a second, not the default 15; the admin console
// (database "pgbouncer") lets tests SHOW pools, clients and servers.
func (b *Bouncer) ini(up *pgconn.Config, o Options) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "[databases]\n%s = host=%s port=%d dbname=%s user=%s\n\n", b.database, up.Host, up.Port, up.Database, up.User)
	fmt.Fprintf(&w, "[pgbouncer]\n")
	fmt.Fprintf(&w, "listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir = %s\n", b.port, b.dir)
	fmt.Fprintf(&w, "logfile = %s\n", filepath.Join(b.dir, "pgbouncer.log"))
	fmt.Fprintf(&w, "auth_type = trust\nauth_file = %s\n", filepath.Join(b.dir, "userlist.txt"))
	fmt.Fprintf(&w, "admin_users = %s\nstats_users = %s\n", b.user, b.user)
	fmt.Fprintf(&w, "pool_mode = transaction\ndefault_pool_size = %d\nmin_pool_size = 0\nreserve_pool_size = 0\nmax_client_conn = 200\n", o.PoolSize)
	fmt.Fprintf(&w, "server_login_retry = 1\n")
	fmt.Fprintf(&w, "ignore_startup_parameters = %s\n", strings.Join(o.IgnoreStartupParameters, ","))
	if versionAtLeast(b.version, 1, 21) {
		// PgBouncer 1.21 can track protocol-level prepared statements itself
		// (and 1.24 does by default); 0 keeps that off so pgfast's describe
		// mode is what is tested. Older versions reject the unknown key.
		fmt.Fprintf(&w, "max_prepared_statements = 0\n")
	}
	return w.Bytes()
}

// start launches pgbouncer and waits until its admin console answers.
func (b *Bouncer) start(bin string, as *embedpg.RunAs) error {
	out := &testproc.LockedBuffer{}
	cmd := exec.Command(bin, b.iniPath())
	cmd.Dir = b.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr(as)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start pgbouncer: %w", err)
	}
	exited := make(chan struct{})
	b.mu.Lock()
	b.cmd, b.exited, b.out = cmd, exited, out
	b.mu.Unlock()
	go func() {
		err := cmd.Wait()
		b.mu.Lock()
		b.exitErr = err
		b.mu.Unlock()
		close(exited)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			b.mu.Lock()
			defer b.mu.Unlock()
			b.cmd = nil
			return fmt.Errorf("pgbouncer exited during start (%v):\n%s", b.exitErr, out.String())
		default:
		}
		err := b.ping()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			b.kill()
			return fmt.Errorf("pgbouncer did not accept connections within %s (%v):\n%s", startTimeout, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping asks the admin console for the version: it proves PgBouncer accepts
// connections without opening one to PostgreSQL.
func (b *Bouncer) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, b.adminURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SHOW VERSION").ReadAll()
	return err
}

// Addr returns "127.0.0.1:PORT".
func (b *Bouncer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// URL is a connection URL for the upstream database through PgBouncer.
func (b *Bouncer) URL() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", b.user, b.Addr(), b.database)
}

func (b *Bouncer) adminURL() string {
	return fmt.Sprintf("postgres://%s@%s/pgbouncer?sslmode=disable", b.user, b.Addr())
}

// PoolSize is default_pool_size: the most server connections PgBouncer opens
// to the upstream database.
func (b *Bouncer) PoolSize() int { return b.poolSize }

// Version is the pgbouncer binary's version, such as "1.18.0".
func (b *Bouncer) Version() string { return b.version }

// Log returns PgBouncer's log so far, for failure messages.
func (b *Bouncer) Log() string {
	data, err := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	if err != nil {
		return fmt.Sprintf("(cannot read pgbouncer.log: %v)", err)
	}
	return string(data)
}

// Show runs SHOW what (POOLS, CLIENTS, SERVERS, STATS…) on the admin console
// and returns its rows as column name → text value.
func (b *Bouncer) Show(tb testing.TB, what string) []map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, b.adminURL())
	if err != nil {
		tb.Fatalf("testpgbouncer: cannot connect to the admin console: %v", err)
	}
	defer conn.Close(ctx)
	results, err := conn.Exec(ctx, "SHOW "+what).ReadAll()
	if err != nil {
		tb.Fatalf("testpgbouncer: SHOW %s: %v", what, err)
	}
	var rows []map[string]string
	for _, r := range results {
		for _, vals := range r.Rows {
			row := make(map[string]string, len(vals))
			for i, f := range r.FieldDescriptions {
				row[f.Name] = string(vals[i])
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// Stop sends SIGTERM (PgBouncer's fast shutdown before 1.23, a shutdown that
// waits for clients after) and waits for the process to exit, killing it
// after stopTimeout. It is called automatically when the test ends.
func (b *Bouncer) Stop() {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		cmd, exited := b.cmd, b.exited
		b.mu.Unlock()
		if cmd == nil {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			b.kill()
		}
	})
}

// kill sends SIGKILL and waits for the exit.
func (b *Bouncer) kill() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// findBinary looks on PATH, then in /usr/sbin, where Debian's package puts
// pgbouncer and which a non-root PATH often lacks.
func findBinary() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/pgbouncer"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", fmt.Errorf("pgbouncer is not on PATH nor in /usr/sbin; run `make deps` to install it")
}

var versionRE = regexp.MustCompile(`PgBouncer (\d+\.\d+(?:\.\d+)?)`)

// binaryVersion runs pgbouncer --version ("PgBouncer 1.18.0", then its
// libraries).
func binaryVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cannot run %s --version: %w\n%s", bin, err, out)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("cannot read the version in %s --version: %q", bin, out)
	}
	return string(m[1]), nil
}

// versionAtLeast compares "MAJOR.MINOR[.PATCH]" with major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
