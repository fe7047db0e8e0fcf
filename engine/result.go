package engine

import (
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

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

// resultSet encodes one statement's result into a buffer: the columns,
// then rows as they arrive, then the tail. Its JSON is DESIGN §4's:
// {"columns":[…],"rows":[…],"row_count":N,"truncated":false[,"duration_ms":…]}.
type resultSet struct {
	plan    *rowcodec.Plan
	asArray bool
	maxRows int64
	rows    int64
	trunc   bool
}

func (rs *resultSet) appendHead(dst []byte) []byte {
	dst = append(dst, `{"columns":`...)
	dst = rs.plan.AppendColumns(dst)
	return append(dst, `,"rows":[`...)
}

// appendRow adds one row unless max_rows is reached, in which case it
// marks the result truncated and reports false.
func (rs *resultSet) appendRow(dst []byte, values [][]byte) ([]byte, bool, error) {
	if rs.maxRows > 0 && rs.rows >= rs.maxRows {
		rs.trunc = true
		return dst, false, nil
	}
	if rs.rows > 0 {
		dst = append(dst, ',')
	}
	var err error
	if rs.asArray {
		dst, err = rs.plan.AppendArray(dst, values)
	} else {
		dst, err = rs.plan.AppendObject(dst, values)
	}
	if err != nil {
		return dst, false, err
	}
	rs.rows++
	return dst, true, nil
}

func (rs *resultSet) appendTail(dst []byte) []byte {
	dst = append(dst, `],"row_count":`...)
	dst = strconv.AppendInt(dst, rs.rows, 10)
	dst = append(dst, `,"truncated":`...)
	return strconv.AppendBool(dst, rs.trunc)
}

func appendDurationMS(dst []byte, d time.Duration) []byte {
	dst = append(dst, `,"duration_ms":`...)
	return strconv.AppendFloat(dst, float64(d.Microseconds())/1000, 'f', -1, 64)
}
