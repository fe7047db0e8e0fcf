package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/pgfast/pgfast"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/engine"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the HTTP API (with no database configured: an embedded PostgreSQL with demo data)",
		Flags: configFlags(),
		Action: func(c *cli.Context) error {
			return serve(c.Context, func() (*config.Config, error) { return loadConfig(c) }, c.App.Writer)
		},
	}
}

// loadConfig loads what the flags name; given no --config, --config-dir or
// PGFAST_CONFIG, it reads pg-api's ./config/ when that holds server.json (a
// pg-api deployment runs unchanged), else starts from the defaults.
func loadConfig(c *cli.Context) (*config.Config, error) {
	file, dir := c.String("config"), c.String("config-dir")
	if file == "" && dir == "" && config.IsPGAPIDir(config.PGAPIDir) {
		dir = config.PGAPIDir
	}
	return config.Load(config.LoadOptions{
		File: file,
		Dir:  dir,
		Overrides: config.Overrides{
			Addr:        c.String("addr"),
			AdminAddr:   c.String("admin-addr"),
			DatabaseURL: c.String("database-url"),
			LogLevel:    c.String("log-level"),
			DataDir:     c.String("data-dir"),
		},
	})
}

func newLogger(l config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs pgfast until SIGINT or SIGTERM, then drains in-flight requests
// and stops; SIGHUP reloads the config through load; SIGUSR1 reopens the
// access-log files (logrotate); SIGUSR2 hands the listening sockets to a
// new copy of the binary and exits once it serves (upgrade.go). It speaks
// systemd's notify protocol when NOTIFY_SOCKET is set (systemd.go).
func serve(ctx context.Context, load func() (*config.Config, error), out io.Writer) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr)
	slog.SetDefault(log)
	// 0 leaves Go's limit alone (GOMEMLIMIT if set, else none). A soft limit:
	// near it the GC runs more often instead of letting the heap double.
	if l := cfg.Server.MemoryLimit; l > 0 {
		debug.SetMemoryLimit(int64(l))
		log.Info("Go memory limit set", "server.memory_limit", l.String())
	}

	var cluster *embedpg.Cluster
	if cfg.Embedded() {
		cluster, err = startEmbedded(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				log.Error("cannot stop embedded PostgreSQL", "err", err)
			}
		}()
	}

	reload := func() (*config.Config, error) {
		next, err := load()
		if err == nil && cluster != nil && next.Embedded() {
			useEmbedded(next, cluster)
		}
		return next, err
	}
	eng, err := engine.New(ctx, cfg, engine.Options{Logger: log, Load: reload})
	if err != nil {
		return err
	}
	// Started by a SIGUSR2 upgrade: the sockets come from the old process.
	inh, err := inheritListeners()
	if err != nil {
		eng.Close()
		return err
	}
	ln, adminLn, err := openListeners(cfg, inh)
	if err != nil {
		eng.Close()
		return err
	}

	errc := make(chan error, 2)
	go func() { errc <- eng.Serve(ln) }()
	if adminLn != nil {
		go func() { errc <- eng.ServeAdmin(adminLn) }()
	}
	// Signals and the file watch are set up before pgfast says it is
	// serving, so a change or a SIGHUP right after that line is never missed.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	notify := func(state string) {
		if err := sdNotify(state); err != nil {
			log.Warn("cannot notify systemd", "state", state, "err", err)
		}
	}
	reloadNow := func() {
		notify(sdReloading)
		if err := eng.Reload(ctx); err != nil {
			log.Error("config reload rejected; the previous config keeps serving", "err", err)
		}
		notify(sdReady)
	}
	if fi, err := os.Stat(cfg.Source); cfg.Source != "" && err == nil && !fi.IsDir() {
		wctx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		if err := watchConfig(wctx, cfg.Source, reloadNow, log); err != nil {
			log.Warn("cannot watch the config file; reload with SIGHUP or POST /admin/reload", "err", err)
		}
	}

	log.Info("pgfast serving", "addr", ln.Addr().String(), "admin_addr", addrOf(adminLn), "version", version, "pid", os.Getpid(), "config", cfg.Source)
	if cluster != nil {
		printExamples(out, ln.Addr(), addrOf(adminLn), cfg)
	}
	if inh != nil {
		// The previous process hears first: until it does, it may still
		// give up on this one (its timeout) and stop it, which must not
		// happen to the process systemd already tracks as the main one.
		if err := inh.signalReady(); err != nil {
			log.Warn("upgrade: cannot tell the previous process this one is serving; it stops on its own timeout", "err", err)
		}
		notify(sdMainPID(os.Getpid()) + "\n" + sdReady)
		log.Info("serving on the sockets handed over by the parent process (an upgrade, or bench --standalone)", "parent_pid", os.Getppid())
	} else {
		notify(sdReady)
	}
	// Start-up is over: the binary's pages only it needed leave the
	// resident set (about 20 MB; README, Memory).
	if n, err := engine.ReleaseBinaryPages(); err != nil {
		log.Warn("cannot release the start-up pages of the binary; RSS stays higher, nothing else changes", "err", err)
	} else {
		log.Debug("released the start-up pages of the binary", "bytes", n)
	}
	wdctx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	if d := sdWatchdogInterval(); d > 0 {
		go sdWatchdog(wdctx, d, notify)
	}

	drain := func(why ...any) error {
		log.Info("shutting down", append(why, "timeout", cfg.Server.ShutdownTimeout.String())...)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Std())
		err := eng.Shutdown(sctx)
		cancel()
		if err != nil {
			return err
		}
		log.Info("stopped")
		return nil
	}
	var up *upgrade // the new process of a SIGUSR2 upgrade, until it takes over or fails
	for {
		select {
		case err := <-errc:
			eng.Close()
			return fmt.Errorf("server stopped: %w", err)
		case err := <-up.doneChan():
			child := up.pid()
			up = nil
			if err != nil {
				log.Error("upgrade failed; this process keeps serving", "pid", child, "err", err)
				continue
			}
			// systemd follows the new process from here; this one's drain
			// is not the service stopping, so no STOPPING=1.
			stopWatchdog()
			notify(sdMainPID(child))
			return drain("upgrade", "the new process is serving", "new_pid", child)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				log.Info("SIGHUP: reloading config")
				reloadNow()
				continue
			case syscall.SIGUSR1:
				// logrotate renamed the access-log files: write new ones.
				if err := eng.ReopenLogs(); err != nil {
					log.Error("SIGUSR1: cannot reopen the access log", "err", err)
				} else {
					log.Info("SIGUSR1: access log reopened")
				}
				continue
			case syscall.SIGUSR2:
				switch {
				case cluster != nil:
					log.Warn("SIGUSR2 upgrade refused: the embedded PostgreSQL cannot be handed over (a new process would start a second cluster on data_dir); restart pgfast instead")
				case up != nil:
					log.Warn("SIGUSR2 ignored: an upgrade is already in progress", "new_pid", up.pid())
				default:
					var err error
					if up, err = startUpgrade(ln, adminLn); err != nil {
						log.Error("upgrade failed; this process keeps serving", "err", err)
						continue
					}
					log.Info("SIGUSR2: upgrading: started a new process on the listening sockets", "new_pid", up.pid(), "timeout", upgradeTimeout.String())
				}
				continue
			}
			notify(sdStopping)
			if up != nil {
				log.Info("stopping the upgrade in progress", "new_pid", up.pid(), "err", up.abort())
				up = nil
			}
			return drain("signal", sig.String())
		}
	}
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

// startEmbedded runs the persistent embedded cluster under data_dir/pg,
// loads the demo data on first start, and points databases.main at it. A
// config without routes gets the demo routes and account.
func startEmbedded(ctx context.Context, cfg *config.Config, log *slog.Logger) (*embedpg.Cluster, error) {
	dir := filepath.Join(cfg.DataDir, "pg")
	log.Info("no database configured: starting the embedded PostgreSQL", "dir", dir)
	cluster, err := embedpg.Start(ctx, embedpg.Options{Dir: dir, Persistent: true, Logger: log})
	if err != nil {
		return nil, err
	}
	loaded, err := embedpg.LoadDemo(ctx, cluster.URL(), pgfast.DemoSchema, embedpg.DefaultCustomers)
	if err != nil {
		cluster.Stop()
		return nil, err
	}
	if loaded {
		log.Info("demo data loaded", "customers", embedpg.DefaultCustomers)
	} else {
		log.Info("reusing the embedded data directory (demo data already loaded)")
	}
	if err := useEmbedded(cfg, cluster); err != nil {
		cluster.Stop()
		return nil, err
	}
	return cluster, nil
}

// useEmbedded points cfg's main database at the embedded cluster; a config
// without routes and accounts gets the demo ones. The demo account logs in
// as embedpg.DemoRole (SELECT on the demo table only), never as the
// cluster's superuser: its token is published in the README.
func useEmbedded(cfg *config.Config, cluster *embedpg.Cluster) error {
	cfg.Databases[config.MainDatabase].URL = config.Secret(cluster.URL())
	if len(cfg.Routes) > 0 || len(cfg.Accounts) > 0 {
		return nil
	}
	demo, err := config.Parse(pgfast.DemoConfig, "yaml")
	if err != nil {
		return fmt.Errorf("BUG: demo config does not parse: %w", err)
	}
	cfg.Routes, cfg.Accounts = demo.Routes, demo.Accounts
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		db := *cfg.Databases[config.MainDatabase]
		db.URL, db.MaxConns, db.MaxConcurrentQueries = config.Secret(cluster.URLAs(embedpg.DemoRole)), a.MaxConnections, a.MaxConnections
		a.Database, a.DatabaseURL = config.AccountDatabasePrefix+a.ID, db.URL
		cfg.Databases[a.Database] = &db
	}
	return nil
}

func printExamples(w io.Writer, addr net.Addr, admin string, cfg *config.Config) {
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP.IsUnspecified() || tcp.IP == nil) {
		host = fmt.Sprintf("localhost:%d", tcp.Port)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\npgfast is serving the demo database on http://%s — try:\n\n", host)
	fmt.Fprintf(&b, "  curl -s http://%s/ready\n", host)
	for _, r := range cfg.Routes {
		path := strings.ReplaceAll(r.Path, "{id}", "42")
		if r.Name == "customers" {
			path += "?limit=3"
		}
		fmt.Fprintf(&b, "  curl -s http://%s%s\n", host, path)
	}
	for _, a := range cfg.Accounts {
		if tok := a.APIToken.Value(); tok != "" {
			fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' -d '{\"query\":\"SELECT customer_id, email FROM customer WHERE customer_id = $1\",\"params\":[7]}' http://%s/v1/query\n", tok, host)
			break
		}
	}
	if admin != "off" {
		fmt.Fprintf(&b, "  curl -s http://%s/metrics | head\n", admin)
	}
	b.WriteString("\nCtrl-C stops pgfast and the embedded PostgreSQL; data persists in " + cfg.DataDir + "\n\n")
	io.WriteString(w, b.String())
}
