// Package rowcodec turns PostgreSQL result rows, read in binary format,
// into JSON appended to a caller's buffer. A Plan is compiled once per
// result shape from the field descriptions (a codec per column, object
// keys escaped in advance) and then run per row over the raw values that
// pgconn.ResultReader.Values or pgx.Rows.RawValues return; encoding a row
// allocates nothing.
//
// The reference is PostgreSQL itself: the JSON of a row equals, once
// parsed, row_to_json of the same row in a session with the same TimeZone
// and IntervalStyle, for every type and edge value: numbers stay exact
// decimal text, NaN and the infinities become strings, oid and money are
// strings, dates and times use ISO 8601 whatever the DateStyle. The output
// is always valid JSON and valid UTF-8; a malformed value gives an error,
// never a panic. rowcodec imports nothing else of pgfast.
//
// Settings it does not take are assumed at PostgreSQL's defaults:
// extra_float_digits above 0 (shortest exact floats), bytea_output hex,
// and lc_monetary C, POSIX or en_US for money. Types without a binary
// decoder (geometry, ranges, tsvector, xml, …) are read in text format and
// emitted as strings, which is also what row_to_json does with them,
// except for extension types that define a cast to json.
package rowcodec

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Options are the session settings a row's text depends on. The zero value
// is a UTC session with IntervalStyle postgres and built-in types only.
type Options struct {
	// Location is the session TimeZone, used for timestamptz output as
	// PostgreSQL uses it. nil means UTC. Load it with time.LoadLocation
	// from the server's TimeZone parameter status.
	Location *time.Location
	// IntervalStyle is the session IntervalStyle: "postgres" (the default
	// when empty), "postgres_verbose", "sql_standard" or "iso_8601".
	IntervalStyle string
	// Types resolves enums, composites, domains and arrays of them; nil
	// means built-in types only (others must then come in text format).
	Types *Types
}

// Validate reports options NewPlan would reject.
func (o Options) Validate() error {
	_, err := parseIntervalStyle(o.IntervalStyle)
	return err
}

// withDefaults returns the options with empty fields filled in.
func (o Options) withDefaults() Options {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.IntervalStyle == "" {
		o.IntervalStyle = IntervalPostgres
	}
	return o
}

// Plan encodes the rows of one result shape. It is read-only once built:
// any number of goroutines may use one Plan at the same time.
type Plan struct {
	env     env
	cols    []column
	columns []byte // AppendColumns' JSON, encoded once
}

// Result format codes of the wire protocol.
const (
	textFormat   = 0
	binaryFormat = 1
)

// column is one result column: its pre-escaped key and its codec.
type column struct {
	key   []byte // `"name":`, after a ',' except for the first column
	name  string
	oid   uint32
	codec *codec
}

// NewPlan compiles a plan for one result shape. fields[i].Format must be
// the format that was requested for the column: binary (1) for types the
// codec decodes (see Types.Formats), text (0) for any type. A binary
// column of a type without a binary decoder is an error.
func NewPlan(fields []pgconn.FieldDescription, opts Options) (*Plan, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	style, _ := parseIntervalStyle(opts.IntervalStyle)
	p := &Plan{
		env:  env{loc: opts.Location, style: style, types: opts.Types},
		cols: make([]column, len(fields)),
	}
	if p.env.loc == time.UTC {
		p.env.loc = nil
	}
	p.columns = append(p.columns, '[')
	for i, f := range fields {
		var c *codec
		switch f.Format {
		case binaryFormat:
			if opts.Types != nil {
				c = opts.Types.codec(f.DataTypeOID)
			} else {
				c = builtinCodecs[f.DataTypeOID]
			}
			if c == nil {
				return nil, fmt.Errorf("rowcodec: cannot decode column %q: type %d (%s) has no binary decoder; request it in text format (see Types.Formats)",
					f.Name, f.DataTypeOID, opts.Types.Name(f.DataTypeOID))
			}
		case textFormat:
			c = textCodecs[textKind(f.DataTypeOID)]
		default:
			return nil, fmt.Errorf("rowcodec: cannot decode column %q: unknown format code %d", f.Name, f.Format)
		}
		var key []byte
		if i > 0 {
			key = append(key, ',')
			p.columns = append(p.columns, ',')
		}
		key = AppendString(key, []byte(f.Name))
		p.cols[i] = column{key: append(key, ':'), name: f.Name, oid: f.DataTypeOID, codec: c}

		p.columns = append(p.columns, `{"name":`...)
		p.columns = AppendString(p.columns, []byte(f.Name))
		p.columns = append(p.columns, `,"type":`...)
		name := opts.Types.Name(f.DataTypeOID)
		if name == "" {
			name = strconv.FormatUint(uint64(f.DataTypeOID), 10)
		}
		p.columns = AppendString(p.columns, []byte(name))
		p.columns = append(p.columns, '}')
	}
	p.columns = append(p.columns, ']')
	return p, nil
}

// AppendColumns appends the column list, [{"name":"id","type":"int8"},…],
// with each type's pg_type.typname (or its OID in digits when unknown).
func (p *Plan) AppendColumns(dst []byte) []byte { return append(dst, p.columns...) }

// AppendObject appends one row as a JSON object, {"id":1,…}, keys in
// column order. values are the row's raw values (nil for NULL), one per
// column; they are read only during the call (pgx keeps them valid until
// the next row only). On error dst holds a partial row that the caller
// must discard (truncate to its length before the call).
func (p *Plan) AppendObject(dst []byte, values [][]byte) ([]byte, error) {
	if len(values) != len(p.cols) {
		return dst, p.countError(len(values))
	}
	dst = append(dst, '{')
	var err error
	for i := range p.cols {
		c := &p.cols[i]
		dst = append(dst, c.key...)
		v := values[i]
		switch {
		case v == nil:
			dst = append(dst, "null"...)
		case c.codec.kind == kString:
			// The most common case, without the dispatch.
			dst = AppendString(dst, v)
		default:
			if dst, err = c.codec.encode(&p.env, dst, v, 0); err != nil {
				return dst, p.columnError(i, err)
			}
		}
	}
	return append(dst, '}'), nil
}

// AppendArray appends one row as a JSON array, [1,…], under the same
// rules as AppendObject.
func (p *Plan) AppendArray(dst []byte, values [][]byte) ([]byte, error) {
	if len(values) != len(p.cols) {
		return dst, p.countError(len(values))
	}
	dst = append(dst, '[')
	var err error
	for i := range p.cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		v, c := values[i], p.cols[i].codec
		switch {
		case v == nil:
			dst = append(dst, "null"...)
		case c.kind == kString:
			dst = AppendString(dst, v)
		default:
			if dst, err = c.encode(&p.env, dst, v, 0); err != nil {
				return dst, p.columnError(i, err)
			}
		}
	}
	return append(dst, ']'), nil
}

// AppendValue appends the JSON of one column's raw value (nil for NULL),
// for results that are a single value.
func (p *Plan) AppendValue(dst []byte, col int, value []byte) ([]byte, error) {
	if col < 0 || col >= len(p.cols) {
		return dst, fmt.Errorf("rowcodec: cannot encode column %d: the result has %d columns", col, len(p.cols))
	}
	if value == nil {
		return append(dst, "null"...), nil
	}
	dst, err := p.cols[col].codec.encode(&p.env, dst, value, 0)
	if err != nil {
		return dst, p.columnError(col, err)
	}
	return dst, nil
}

// ColumnError is the error of a value that could not be encoded; it
// wraps ErrMalformed or ErrUnsupported.
type ColumnError struct {
	Column int    // index in the row
	Name   string // column name
	OID    uint32 // column type
	Err    error
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("rowcodec: cannot encode column %q (type %d): %v", e.Name, e.OID, e.Err)
}

func (e *ColumnError) Unwrap() error { return e.Err }

func (p *Plan) columnError(i int, err error) error {
	var ce *ColumnError
	if errors.As(err, &ce) {
		return err
	}
	return &ColumnError{Column: i, Name: p.cols[i].name, OID: p.cols[i].oid, Err: err}
}

func (p *Plan) countError(got int) error {
	return fmt.Errorf("%w: got %d values; want %d", ErrMalformed, got, len(p.cols))
}
