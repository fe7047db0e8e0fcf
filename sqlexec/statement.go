package sqlexec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

// Statement is a route's SQL compiled against its database: prepared and
// described once, parameter types and result formats known, the row plan
// built and the settings rendered. A request only binds values and runs it
// by name.
type Statement struct {
	db        *DB
	sql       string
	name      string // prepared name on every connection of db; "" when db.Unnamed
	paramOIDs []uint32
	formats   []int16
	// sd describes the named statement: executing by it skips the Describe
	// and the row description the server would send back for every call.
	sd       *pgconn.StatementDescription
	fields   []pgconn.FieldDescription // the result's columns, for Columns
	plan     *rowcodec.Plan
	shape    Shape
	settings string // "SELECT set_config(…, true), …" or ""
	timeout  time.Duration
	label    string // StatementOptions.Name
	// co gathers the runs of a coalescing statement (coalesce.go); nil
	// when it runs every request alone.
	co *coalescer
	// keyed is the statement's keyed form (keyed.go); nil when its runs
	// are pipelined.
	keyed *keyedStatement
}

// StatementOptions is what Compile needs of a route.
type StatementOptions struct {
	// Name labels the statement in DB.SlowLog (the route's name).
	Name  string
	SQL   string
	Shape Shape
	// Settings are the route's planner and runtime settings, applied with
	// SET LOCAL semantics in the statement's own transaction.
	Settings map[string]string
	// Timeout is the route's statement_timeout when it differs from the
	// pool's; 0 keeps the pool's.
	Timeout time.Duration
	// Coalesce lets Fetch run requests waiting for a connection together
	// (coalesce.go). It applies to One and Value results (read whole,
	// never streamed) on a database that prepares by name: behind
	// PgBouncer (Unnamed) it is ignored.
	Coalesce bool
	// Lateral, with Coalesce, is the statement with its $1 replaced by
	// LateralParam (sqlclass.ReplaceParam checks that it is one plain
	// SELECT): its runs then execute once, keyed (keyed.go), when the
	// keyed form prepares with the statement's columns. "" pipelines them.
	Lateral string
}

// Compile prepares o.SQL on db and builds the statement. Its errors
// describe the SQL, for a config error naming the route.
func Compile(ctx context.Context, db *DB, o StatementOptions) (*Statement, error) {
	s := &Statement{db: db, sql: o.SQL, shape: o.Shape, timeout: o.Timeout, label: o.Name}
	if !db.Unnamed {
		s.name = "pgfast_route_" + strconv.FormatUint(xxhash.Sum64String(o.SQL), 16)
		if o.Coalesce && (o.Shape == One || o.Shape == Value) && db.RunBudget > 0 {
			s.co = &coalescer{}
		}
	}
	var err error
	if s.settings, err = settingsSQL(o.Settings, o.Timeout); err != nil {
		return nil, err
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot reach database %s to prepare the route: %w", db.Name, err)
	}
	defer conn.Release()
	pc := conn.PgConn()
	sd, err := pc.Prepare(ctx, s.name, o.SQL, nil)
	if isDuplicate(err) {
		// Prepared already on this connection (same SQL, same name).
		sd, err = pc.Prepare(ctx, "", o.SQL, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("sql does not prepare: %w", err)
	}
	if s.name != "" {
		markPrepared(pc, s.name)
		sd.Name, sd.SQL = s.name, o.SQL
		s.sd = sd
	}
	if len(sd.Fields) == 0 {
		return nil, errors.New("sql returns no columns; a route must return rows")
	}
	s.paramOIDs = append([]uint32(nil), sd.ParamOIDs...)
	if s.formats, err = resultFormats(ctx, pc, db.Types, sd.Fields); err != nil {
		return nil, err
	}
	fields := make([]pgconn.FieldDescription, len(sd.Fields))
	copy(fields, sd.Fields)
	for i := range fields {
		fields[i].Format = s.formats[i]
	}
	s.fields = fields
	opts := sessionOptions(pc, db.Types)
	for k, v := range o.Settings {
		if strings.EqualFold(k, "TimeZone") {
			opts.Location = location(v)
		}
		if strings.EqualFold(k, "IntervalStyle") {
			opts.IntervalStyle = v
		}
	}
	if s.settings != "" {
		// Check the settings now: a typo is a config error, not a 500.
		if _, err := pc.Exec(ctx, "BEGIN; "+s.settings+"; ROLLBACK").ReadAll(); err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
	}
	if s.plan, err = rowcodec.NewPlan(fields, opts); err != nil {
		return nil, fmt.Errorf("cannot plan result encoding: %w", err)
	}
	if s.co != nil && o.Lateral != "" {
		// A statement without a keyed form still coalesces, pipelined;
		// Keyed says which it got.
		s.keyed, _ = compileKeyed(ctx, pc, s, o.Lateral)
	}
	return s, nil
}

// Column is one result column: its name and its PostgreSQL type's name
// (a domain's base type, an enum's or composite's own name).
type Column struct {
	Name, Type string
}

// Columns describes the statement's result, for the OpenAPI document.
func (s *Statement) Columns() []Column {
	out := make([]Column, len(s.fields))
	for i, f := range s.fields {
		out[i] = Column{Name: f.Name, Type: s.db.Types.Name(f.DataTypeOID)}
	}
	return out
}

// Keyed reports whether the statement's runs execute once, keyed, rather
// than pipelined.
func (s *Statement) Keyed() bool { return s.keyed != nil }

// ParamOIDs are the types of the statement's parameters, $1 first.
func (s *Statement) ParamOIDs() []uint32 { return s.paramOIDs }

// SQL is the statement's text.
func (s *Statement) SQL() string { return s.sql }

// DB is the database the statement runs on.
func (s *Statement) DB() *DB { return s.db }

// Run executes the statement with args (text format; nil is NULL) on a
// connection of its database. The route's settings and timeout travel in
// the same pipeline as the statement, inside the same implicit
// transaction: one round trip either way. ctx cancels it (a client that
// went away); the route's timeout bounds it.
func (s *Statement) Run(ctx context.Context, args [][]byte) (*Rows, error) {
	x, err := acquire(ctx, s.db, s.timeout, time.Time{})
	if err != nil {
		return nil, err
	}
	s.prime(x)
	if err := s.send(x, args); err != nil {
		x.Release(err)
		return nil, err
	}
	return x, nil
}

// prime readies x to run s: its result encoding and its slow-log names.
func (s *Statement) prime(x *Rows) {
	x.enc = encoder{plan: s.plan, enc: Encoding{Shape: s.shape}}
	x.sql, x.label = s.sql, s.label
}

func (s *Statement) send(x *Rows, args [][]byte) error {
	pc := x.conn.PgConn()
	if s.name != "" {
		if err := ensurePrepared(x.ctx, pc, s.name, s.sql); err != nil {
			return err
		}
	}
	if s.settings == "" {
		if s.name == "" {
			// statement_cache: describe (PgBouncer in transaction mode): no
			// named statement may outlive the transaction, so the statement
			// is parsed unnamed in the same message train, with the
			// parameter types and result formats known since compilation.
			x.rr = pc.ExecParams(x.ctx, s.sql, args, s.paramOIDs, nil, s.formats)
		} else {
			x.rr = pc.ExecStatement(x.ctx, s.sd, args, nil, s.formats)
		}
		return nil
	}
	x.pl = pc.StartPipeline(x.ctx)
	x.pl.SendQueryParams(s.settings, nil, nil, nil, nil)
	if s.name == "" {
		x.pl.SendQueryParams(s.sql, args, s.paramOIDs, nil, s.formats)
	} else {
		x.pl.SendQueryStatement(s.sd, args, nil, s.formats)
	}
	x.pl.SendPipelineSync()
	if err := x.pl.Flush(); err != nil {
		return err
	}
	res, err := x.pl.GetResults()
	if set, ok := res.(*pgconn.ResultReader); err == nil && ok {
		_, err = set.Close()
	}
	if err == nil {
		res, err = x.pl.GetResults()
	}
	if err != nil {
		return err
	}
	if x.rr, _ = res.(*pgconn.ResultReader); x.rr == nil {
		return errors.New("BUG: route pipeline returned no result")
	}
	return nil
}

// settingsSQL renders a route's settings and timeout as one statement run
// in the query's own implicit transaction: set_config(…, true) is SET
// LOCAL, so nothing outlives the request on the pooled connection.
func settingsSQL(settings map[string]string, timeout time.Duration) (string, error) {
	if len(settings) == 0 && timeout == 0 {
		return "", nil
	}
	keys := make([]string, 0, len(settings)+1)
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("set_config(" + quoteLiteral(k) + ", " + quoteLiteral(settings[k]) + ", true)")
	}
	if timeout > 0 {
		if len(keys) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("set_config('statement_timeout', '" + strconv.FormatInt(max(1, timeout.Milliseconds()), 10) + "', true)")
	}
	return b.String(), nil
}

// quoteLiteral quotes s as a SQL string literal (standard_conforming_strings on).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func isDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P05"
}
