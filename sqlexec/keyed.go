package sqlexec

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// Keyed runs. A route whose statement is one plain SELECT of a single
// parameter can answer a whole run with one execution instead of one per
// member: the members' values go in one array, and the route's SQL, its $1
// replaced by LateralParam, runs once per value in a LATERAL subquery,
//
//	SELECT pgfast_k.ord, pgfast_r.* FROM unnest($1::TYPE[]) WITH ORDINALITY AS pgfast_k(v, ord)
//	CROSS JOIN LATERAL (SELECT * FROM (<route SQL>) pgfast_q LIMIT 1) pgfast_r
//
// so each member gets the first row its own execution would have given
// (ord says whose it is), with the same columns. It is the DataLoader's
// `= ANY($1)` without rewriting the route's WHERE clause by hand. A
// statement error would be every member's, so a keyed run that fails on
// the server is run again pipelined, where each member meets its own.

// LateralParam is what a route's $1 becomes inside the keyed statement
// (StatementOptions.Lateral).
const LateralParam = "pgfast_k.v"

// keyedStatement is a statement's keyed form, prepared beside it.
type keyedStatement struct {
	sd      *pgconn.StatementDescription
	formats []int16 // ord in binary, then the route's formats
}

// compileKeyed prepares the keyed form of s on pc; inner is the route's
// SQL with $1 replaced by LateralParam. An error says why s cannot run
// keyed (it then pipelines).
func compileKeyed(ctx context.Context, pc *pgconn.PgConn, s *Statement, inner string) (*keyedStatement, error) {
	if len(s.paramOIDs) != 1 {
		return nil, fmt.Errorf("keyed runs need exactly one parameter, the statement has %d", len(s.paramOIDs))
	}
	// format_type with typmod -1 names the type without a length (bpchar,
	// "bit"); with NULL it gives the SQL names (character, bit), which as
	// a cast mean character(1) and bit(1) and would cut every key to one
	// character.
	res := pc.ExecParams(ctx, "SELECT format_type(oid, -1), typdelim = ',' FROM pg_type WHERE oid = $1",
		[][]byte{strconv.AppendUint(nil, uint64(s.paramOIDs[0]), 10)}, []uint32{oidOID}, nil, nil).Read()
	if res.Err != nil {
		return nil, res.Err
	}
	if len(res.Rows) != 1 || string(res.Rows[0][1]) != "t" {
		return nil, errors.New("the parameter's type has no comma-delimited array")
	}
	sql := "SELECT pgfast_k.ord, pgfast_r.* FROM unnest($1::" + string(res.Rows[0][0]) + "[]) WITH ORDINALITY AS pgfast_k(v, ord)" +
		" CROSS JOIN LATERAL (SELECT * FROM (\n" + inner + "\n) pgfast_q LIMIT 1) pgfast_r"
	name := s.name + "_keyed"
	sd, err := pc.Prepare(ctx, name, sql, nil)
	if isDuplicate(err) {
		sd, err = pc.Prepare(ctx, "", sql, nil)
	}
	if err != nil {
		return nil, err
	}
	markPrepared(pc, name)
	sd.Name, sd.SQL = name, sql
	if len(sd.Fields) != len(s.fields)+1 || sd.Fields[0].DataTypeOID != int8OID {
		return nil, errors.New("the keyed statement's columns differ from the route's")
	}
	for i, f := range s.fields {
		if g := sd.Fields[i+1]; g.DataTypeOID != f.DataTypeOID || g.Name != f.Name {
			return nil, fmt.Errorf("the keyed statement's column %d (%s) differs from the route's (%s)", i+1, g.Name, f.Name)
		}
	}
	return &keyedStatement{sd: sd, formats: append([]int16{binaryFormat}, s.formats...)}, nil
}

const (
	oidOID       = 26
	int8OID      = 20
	binaryFormat = 1 // the ordinal, read as 8 bytes
)

// runKeyed answers the run with one execution of the keyed statement. It
// returns false, nil when the server refused it (the caller then pipelines
// the run), and an error only for a connection that failed.
func (s *Statement) runKeyed(x *Rows, r *run) (bool, error) {
	k, pc := s.keyed, x.conn.PgConn()
	if err := ensurePrepared(x.ctx, pc, k.sd.Name, k.sd.SQL); err != nil {
		return false, connectionError(err)
	}
	r.keys = appendKeys(r.keys[:0], r.members)
	x.pl = pc.StartPipeline(x.ctx)
	if s.settings != "" {
		x.pl.SendQueryParams(s.settings, nil, nil, nil, nil)
	}
	x.pl.SendQueryStatement(k.sd, [][]byte{r.keys}, nil, k.formats)
	x.pl.SendPipelineSync()
	if err := x.pl.Flush(); err != nil {
		return false, err
	}
	for _, m := range r.members {
		m.noRows = true
	}
	var failed error // the server's error, or an encoding error
	stmtAt := 0
	if s.settings != "" {
		stmtAt = 1
	}
	for n := 0; ; {
		res, err := x.pl.GetResults()
		if err != nil {
			if connectionError(err) != nil {
				return false, err
			}
			failed = cmp.Or(failed, err)
			continue
		}
		switch rr := res.(type) {
		case *pgconn.ResultReader:
			for n == stmtAt && rr.NextRow() {
				if failed == nil {
					failed = s.keyedRow(r.members, rr.Values())
				}
			}
			n++
			if _, err := rr.Close(); err != nil {
				failed = cmp.Or(failed, err)
			}
		case *pgconn.PipelineSync:
			err := x.pl.Close()
			x.pl = nil
			if err != nil && connectionError(err) != nil {
				return false, err
			}
			if failed != nil {
				for _, m := range r.members {
					m.out, m.noRows = m.out[:m.base], false
				}
				return false, nil
			}
			return true, nil
		default:
			return false, errors.New("BUG: sqlexec: keyed run ended before its Sync")
		}
	}
}

// keyedRow encodes one row of a keyed run into the member its ord names.
func (s *Statement) keyedRow(members []*member, values [][]byte) error {
	if len(values[0]) != 8 {
		return errors.New("BUG: sqlexec: keyed row without its ordinal")
	}
	ord := binary.BigEndian.Uint64(values[0])
	if ord < 1 || ord > uint64(len(members)) {
		return fmt.Errorf("BUG: sqlexec: keyed row for member %d of %d", ord, len(members))
	}
	m := members[ord-1]
	if !m.noRows {
		return nil // LIMIT 1 gives one row per member; keep the first
	}
	m.noRows = false
	enc := encoder{plan: s.plan, enc: Encoding{Shape: s.shape}}
	var err error
	m.out, err = enc.row(m.out, values[1:])
	return err
}

// appendKeys appends the members' values as a PostgreSQL array literal in
// text form: every element quoted (backslash before " and \), NULL bare.
func appendKeys(dst []byte, members []*member) []byte {
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		v := m.args[0]
		if v == nil {
			dst = append(dst, "NULL"...)
			continue
		}
		dst = append(dst, '"')
		for _, c := range v {
			if c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// connectionError is err unless it is the server's answer to a statement
// (a *pgconn.PgError), which leaves the connection usable.
func connectionError(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) {
		return nil
	}
	return err
}
