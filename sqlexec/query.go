package sqlexec

import (
	"context"
)

// Query runs one raw statement (the query API) with JSON params on a
// connection of db, encoded as enc. It is Start then Rows.Query.
func (db *DB) Query(ctx context.Context, sql string, params []any, enc Encoding) (*Rows, error) {
	x, err := db.Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := x.Query(sql, params, enc); err != nil {
		x.Release(err)
		return nil, err
	}
	return x, nil
}

// Query runs one raw statement with JSON params on the started execution,
// encoded as enc, and reads its first row ahead. The statement is prepared
// once per connection (or only described, when the DB is Unnamed); a
// prepared plan that went stale under a schema change is prepared again,
// once. On error the caller still owns x and must Release it.
func (x *Rows) Query(sql string, params []any, enc Encoding) error {
	x.sql = sql
	err := x.query(sql, params, enc)
	if err != nil && forget(x.conn.PgConn(), sql, err) {
		x.rr, x.err, x.peeked = nil, nil, false
		err = x.query(sql, params, enc)
	}
	return err
}

// query describes, binds and starts sql, and reads its first row ahead.
func (x *Rows) query(sql string, params []any, enc Encoding) error {
	if err := x.checkStopped(); err != nil {
		return err
	}
	pc := x.conn.PgConn()
	sd, err := describe(x.ctx, pc, sql, x.db.Unnamed)
	if err != nil {
		return err
	}
	args, err := EncodeJSON(make([][]byte, 0, len(sd.ParamOIDs)), params, sd.ParamOIDs)
	if err != nil {
		return err
	}
	formats, err := resultFormats(x.ctx, pc, x.db.Types, sd.Fields)
	if err != nil {
		return err
	}
	if err := x.checkStopped(); err != nil {
		return err
	}
	if x.db.Unnamed {
		x.rr = pc.ExecParams(x.ctx, sql, args, sd.ParamOIDs, nil, formats)
	} else {
		// By description, as a route's statement: the columns are known
		// since the Prepare, so no Describe is sent and no row description
		// (a string per column name) is read per execution.
		x.rr = pc.ExecStatement(x.ctx, sd, args, nil, formats)
	}
	plan, err := planFor(pc, sql, x.rr.FieldDescriptions(), x.db.Types, !x.db.Unnamed)
	if err != nil {
		return err
	}
	x.enc = encoder{plan: plan, enc: enc}
	return x.peek()
}
