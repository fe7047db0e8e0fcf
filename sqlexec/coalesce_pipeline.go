package sqlexec

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// runPipelined sends every member's statement in one pipeline, then reads
// and encodes the results in order. A statement's error is its member's
// alone; a connection lost fails the members not yet answered.
func (s *Statement) runPipelined(x *Rows, members []*member) {
	s.prime(x)
	pc := x.conn.PgConn()
	err := ensurePrepared(x.ctx, pc, s.name, s.sql)
	if err == nil {
		x.pl = pc.StartPipeline(x.ctx)
		for _, m := range members {
			if s.settings != "" {
				x.pl.SendQueryParams(s.settings, nil, nil, nil, nil)
			}
			x.pl.SendQueryStatement(s.sd, m.args, nil, s.formats)
			x.pl.SendPipelineSync()
		}
		err = x.pl.Flush()
	}
	for i, m := range members {
		if err != nil {
			for _, o := range members[i:] {
				o.err = err
			}
			break
		}
		x.extendDeadline(s.timeout)
		err = s.collect(x, m)
	}
	x.done = true // every result was read to its Sync, or the connection is gone
	x.Release(err)
}

// collect reads one member's results up to its Sync, encoding the
// statement's rows into m.out. It returns an error only when the
// connection failed; the member's own statement error goes to m.err.
func (s *Statement) collect(x *Rows, m *member) error {
	enc := encoder{plan: s.plan, enc: Encoding{Shape: s.shape}}
	stmtAt := 0 // the statement's result follows the settings' result
	if s.settings != "" {
		stmtAt = 1
	}
	for n := 0; ; {
		res, err := x.pl.GetResults()
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				m.err = err
				return err
			}
			if m.err == nil {
				m.err = err
			}
			continue
		}
		switch rr := res.(type) {
		case *pgconn.ResultReader:
			if n == stmtAt {
				m.out = enc.head(m.out)
				for rr.NextRow() {
					if m.err == nil {
						m.out, m.err = enc.row(m.out, rr.Values())
					}
				}
			}
			n++
			if _, err := rr.Close(); err != nil && m.err == nil {
				m.err = err
			}
		case *pgconn.PipelineSync:
			if m.err == nil {
				m.out = enc.tail(m.out, 0)
				m.noRows = enc.rows == 0
			}
			return nil
		default:
			err := errors.New("BUG: sqlexec: pipelined run ended before its Sync")
			m.err = err
			return err
		}
	}
}

// extendDeadline gives the next statement of a run its own timeout on the
// socket deadline, as a statement run alone has.
func (x *Rows) extendDeadline(timeout time.Duration) {
	if !x.deadline {
		return
	}
	if timeout == 0 {
		timeout = x.db.Timeout
	}
	_ = x.conn.PgConn().Conn().SetDeadline(time.Now().Add(timeout + deadlineMargin))
}
