package sqlexec

import (
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

// Shape is the JSON a result becomes.
type Shape uint8

const (
	// Many is a JSON array of row objects: [{…},{…}].
	Many Shape = iota
	// One is the first row's object; a result without rows is NoRows.
	One
	// Value is the first row's first column; no rows is NoRows.
	Value
	// Set is the raw query API's result (DESIGN §4):
	// {"columns":[…],"rows":[…],"row_count":N,"truncated":false}.
	Set
)

// Encoding says how a result is encoded.
type Encoding struct {
	Shape Shape
	// Arrays writes a Set's rows as arrays instead of objects.
	Arrays bool
	// MaxRows caps a Set: rows past it are read and dropped, and the
	// result says truncated. 0 = no cap.
	MaxRows int64
	// Duration adds "duration_ms" to a Set: the time from the start of
	// the execution (acquire included) to its last row.
	Duration bool
}

// encoder writes one result in its Encoding: head, rows as they arrive,
// tail. Routes, the query API and each statement of a batch use it.
type encoder struct {
	plan  *rowcodec.Plan
	enc   Encoding
	rows  int64 // rows written
	trunc bool
}

func (e *encoder) head(dst []byte) []byte {
	switch e.enc.Shape {
	case Many:
		return append(dst, '[')
	case Set:
		dst = append(dst, `{"columns":`...)
		dst = e.plan.AppendColumns(dst)
		return append(dst, `,"rows":[`...)
	}
	return dst
}

// row writes one row: One and Value keep the first row only (the rest is
// read, so that the statement completes), Set stops at MaxRows.
func (e *encoder) row(dst []byte, values [][]byte) ([]byte, error) {
	var err error
	switch e.enc.Shape {
	case Many:
		if e.rows > 0 {
			dst = append(dst, ',')
		}
		dst, err = e.plan.AppendObject(dst, values)
	case One:
		if e.rows > 0 {
			return dst, nil
		}
		dst, err = e.plan.AppendObject(dst, values)
	case Value:
		if e.rows > 0 {
			return dst, nil
		}
		dst, err = e.plan.AppendValue(dst, 0, values[0])
	case Set:
		if e.enc.MaxRows > 0 && e.rows >= e.enc.MaxRows {
			e.trunc = true
			return dst, nil
		}
		if e.rows > 0 {
			dst = append(dst, ',')
		}
		if e.enc.Arrays {
			dst, err = e.plan.AppendArray(dst, values)
		} else {
			dst, err = e.plan.AppendObject(dst, values)
		}
	}
	if err == nil {
		e.rows++
	}
	return dst, err
}

// tail closes the result; took is the execution's time so far.
func (e *encoder) tail(dst []byte, took time.Duration) []byte {
	switch e.enc.Shape {
	case Many:
		return append(dst, ']')
	case Set:
		dst = append(dst, `],"row_count":`...)
		dst = strconv.AppendInt(dst, e.rows, 10)
		dst = append(dst, `,"truncated":`...)
		dst = strconv.AppendBool(dst, e.trunc)
		if e.enc.Duration {
			dst = AppendDurationMS(dst, took)
		}
		return append(dst, '}')
	}
	return dst
}

// AppendDurationMS appends `,"duration_ms":N` with microsecond precision.
func AppendDurationMS(dst []byte, d time.Duration) []byte {
	dst = append(dst, `,"duration_ms":`...)
	return strconv.AppendFloat(dst, float64(d.Microseconds())/1000, 'f', -1, 64)
}

// sessionOptions are the rowcodec options of a connection's session: its
// TimeZone and IntervalStyle as the server reported them, so timestamps
// print as PostgreSQL would print them on that connection.
func sessionOptions(pc *pgconn.PgConn, types *rowcodec.Types) rowcodec.Options {
	return rowcodec.Options{
		Location:      location(pc.ParameterStatus("TimeZone")),
		IntervalStyle: pc.ParameterStatus("IntervalStyle"),
		Types:         types,
	}
}

var locations sync.Map // zone name -> *time.Location

func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		// PostgreSQL accepts POSIX zone specs Go does not; fall back to UTC
		// rather than failing every query.
		l = time.UTC
	}
	locations.Store(name, l)
	return l
}
