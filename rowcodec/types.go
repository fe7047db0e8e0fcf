package rowcodec

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// Types resolves type OIDs that are not built in (enums, composites,
// domains, arrays of them) and gives every OID its pg_type.typname. The
// built-in types of PostgreSQL are known without loading. Types is safe for
// concurrent use; the engine keeps one per database, since non-built-in
// OIDs differ from one database to the next.
type Types struct {
	mu    sync.RWMutex
	infos map[uint32]TypeInfo
	// codecs caches compiled codecs per OID (a nil entry: no binary
	// decoder). Register clears it.
	codecs map[uint32]*codec
}

// TypeInfo describes one pg_type row, as much of it as the codec needs.
type TypeInfo struct {
	// OID is pg_type.oid.
	OID uint32
	// Name is pg_type.typname: "int4", "_int4", an enum's own name.
	Name string
	// Kind is pg_type.typtype: 'b' base (arrays too), 'c' composite, 'd'
	// domain, 'e' enum, 'p' pseudo, 'r' range, 'm' multirange.
	Kind byte
	// Elem is the element type of an array type, 0 if not an array.
	Elem uint32
	// Base is the base type of a domain, 0 otherwise.
	Base uint32
	// Fields are a composite type's attributes in order, dropped ones
	// left out (record_send leaves them out too).
	Fields []Field
}

// Field is one attribute of a composite type.
type Field struct {
	Name string
	OID  uint32
}

// NewTypes returns a Types that knows PostgreSQL's built-in types.
func NewTypes() *Types {
	return &Types{infos: make(map[uint32]TypeInfo), codecs: make(map[uint32]*codec)}
}

// Register adds or replaces the description of one type. Plans built
// before keep what they compiled.
func (t *Types) Register(info TypeInfo) {
	info.Fields = append([]Field(nil), info.Fields...)
	t.mu.Lock()
	t.infos[info.OID] = info
	clear(t.codecs)
	t.mu.Unlock()
}

// Lookup returns what is known of oid: a registered type, else a built-in.
func (t *Types) Lookup(oid uint32) (TypeInfo, bool) {
	if t != nil {
		t.mu.RLock()
		info, ok := t.infos[oid]
		t.mu.RUnlock()
		if ok {
			return info, true
		}
	}
	return builtinInfo(oid)
}

// Name returns the typname of oid ("int4", "_int4", an enum's own name),
// or "" when the type is neither built in nor registered.
func (t *Types) Name(oid uint32) string {
	info, _ := t.Lookup(oid)
	return info.Name
}

// Formats appends to dst the result format code to request for each
// column type in oids: 1 (binary) for every type the codec decodes, 0
// (text) for the rest, which are then emitted as JSON strings. Call Load
// first so that enums, composites, domains and their arrays are decoded
// too. A nil *Types knows the built-ins only.
func (t *Types) Formats(dst []int16, oids []uint32) []int16 {
	for _, oid := range oids {
		var c *codec
		if t == nil {
			c = builtinCodecs[oid]
		} else {
			c = t.codec(oid)
		}
		if c != nil {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	}
	return dst
}

// codec returns the compiled codec for oid, or nil if values of the type
// cannot be decoded from binary. Compiled codecs are cached.
func (t *Types) codec(oid uint32) *codec {
	if c := builtinCodecs[oid]; c != nil {
		return c
	}
	t.mu.RLock()
	c, ok := t.codecs[oid]
	t.mu.RUnlock()
	if ok {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.compileLocked(oid, 0)
}

// maxTypeDepth bounds how deep compileLocked follows element, base and
// field types, against registered descriptions that loop.
const maxTypeDepth = 32

// compileLocked builds (and caches) the codec of oid. t.mu is held.
func (t *Types) compileLocked(oid uint32, depth int) *codec {
	if c := builtinCodecs[oid]; c != nil {
		return c
	}
	if c, ok := t.codecs[oid]; ok {
		return c
	}
	if depth > maxTypeDepth {
		return nil
	}
	info, ok := t.infos[oid]
	if !ok {
		info, ok = builtinInfo(oid)
	}
	var c *codec
	switch {
	case !ok:
	case info.Elem != 0:
		if ec := t.compileLocked(info.Elem, depth+1); ec != nil {
			c = &codec{kind: kArray, oid: oid, elem: ec, elemOID: info.Elem}
		}
	case info.Kind == 'e':
		c = &codec{kind: kString, oid: oid} // enum_send sends the label
	case info.Kind == 'd':
		c = t.compileLocked(info.Base, depth+1) // domains send as their base
	case info.Kind == 'c':
		c = &codec{kind: kComposite, oid: oid, fields: make([]field, len(info.Fields))}
		for i, f := range info.Fields {
			fc := t.compileLocked(f.OID, depth+1)
			if fc == nil {
				c = nil
				break
			}
			var key []byte
			if i > 0 {
				key = append(key, ',')
			}
			key = AppendString(key, []byte(f.Name))
			c.fields[i] = field{key: append(key, ':'), oid: f.OID, codec: fc}
		}
	}
	t.codecs[oid] = c
	return c
}

// Load looks up the given OIDs (and, recursively, their element, field and
// base types) in pg_type and pg_attribute on conn and registers them.
// Built-in and already known OIDs cost nothing; when all are known Load
// does not touch conn. conn must be idle (not inside a result).
func (t *Types) Load(ctx context.Context, conn *pgconn.PgConn, oids ...uint32) error {
	if t == nil {
		return errors.New("rowcodec: cannot load types into a nil *Types (use NewTypes)")
	}
	todo := t.unknown(nil, oids)
	for len(todo) > 0 {
		infos, err := queryTypes(ctx, conn, todo)
		if err != nil {
			return err
		}
		var next []uint32
		for _, info := range infos {
			t.Register(info)
		}
		for _, info := range infos {
			next = t.unknown(next, []uint32{info.Elem, info.Base})
			for _, f := range info.Fields {
				next = t.unknown(next, []uint32{f.OID})
			}
		}
		todo = next
	}
	return nil
}

// unknown appends to dst the OIDs (not 0) that are neither built in nor
// registered, without duplicates.
func (t *Types) unknown(dst []uint32, oids []uint32) []uint32 {
	for _, oid := range oids {
		if oid == 0 {
			continue
		}
		if _, ok := t.Lookup(oid); ok {
			continue
		}
		dup := false
		for _, d := range dst {
			dup = dup || d == oid
		}
		if !dup {
			dst = append(dst, oid)
		}
	}
	return dst
}

// Catalog queries of Load. An array type is one with an element type and
// variable length (typlen = -1), which leaves out fixed-size types such as
// name and point that also have typelem.
const (
	typeQuery = `SELECT t.oid, t.typname, t.typtype,
	CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE 0 END,
	t.typbasetype, t.typrelid
FROM pg_catalog.pg_type t WHERE t.oid = ANY($1::pg_catalog.oid[])`
	attrQuery = `SELECT a.attrelid, a.attname, a.atttypid
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`
)

// oidArrayText formats oids as a text-format oid[] parameter.
func oidArrayText(oids []uint32) []byte {
	b := []byte{'{'}
	for i, oid := range oids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(oid), 10)
	}
	return append(b, '}')
}

// queryTypes reads the pg_type rows of oids and the attributes of the
// composite ones.
func queryTypes(ctx context.Context, conn *pgconn.PgConn, oids []uint32) ([]TypeInfo, error) {
	res := conn.ExecParams(ctx, typeQuery, [][]byte{oidArrayText(oids)}, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("rowcodec: cannot load types %v: %w", oids, res.Err)
	}
	infos := make([]TypeInfo, 0, len(res.Rows))
	var rels []uint32
	relIndex := make(map[uint32]int)
	for _, row := range res.Rows {
		if len(row) != 6 {
			return nil, fmt.Errorf("rowcodec: cannot load types: got %d columns from pg_type; want 6", len(row))
		}
		var info TypeInfo
		info.OID = parseOID(row[0])
		info.Name = string(row[1])
		if len(row[2]) > 0 {
			info.Kind = row[2][0]
		}
		info.Elem = parseOID(row[3])
		info.Base = parseOID(row[4])
		if rel := parseOID(row[5]); rel != 0 && info.Kind == 'c' {
			relIndex[rel] = len(infos)
			rels = append(rels, rel)
		}
		infos = append(infos, info)
	}
	if len(rels) > 0 {
		res := conn.ExecParams(ctx, attrQuery, [][]byte{oidArrayText(rels)}, nil, nil, nil).Read()
		if res.Err != nil {
			return nil, fmt.Errorf("rowcodec: cannot load attributes of composite types %v: %w", oids, res.Err)
		}
		for _, row := range res.Rows {
			if len(row) != 3 {
				return nil, fmt.Errorf("rowcodec: cannot load attributes: got %d columns from pg_attribute; want 3", len(row))
			}
			i := relIndex[parseOID(row[0])]
			infos[i].Fields = append(infos[i].Fields, Field{Name: string(row[1]), OID: parseOID(row[2])})
		}
	}
	return infos, nil
}

func parseOID(b []byte) uint32 {
	v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	return uint32(v)
}
