package sqlclass

import (
	"errors"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// jsonWalker reads libpg_query's JSON parse tree in one pass and collects
// the operations and restricted calls of the first statement.
//
// It is generic on purpose: guided by the protobuf descriptors (schema.go),
// it enters every field whose type is a message, so no node type and no
// field can be left out (a CTE of a MERGE, a function in FROM, the SET list
// of ON CONFLICT DO UPDATE). A hand-written walk over pg_query's ~270 node
// types could forget one, and that would be a way around the
// classification. It is strict: a key the descriptors do not know, or JSON
// that is not well formed, is an error, never skipped.
//
// Why JSON and not the protobuf form: libpg_query packs protobuf slowly. On
// the typical SELECT of sqlclass_timing_test.go its protobuf output costs
// about 60 µs against 16 µs for JSON (40 ms against 6 ms for a 40 KB IN
// list), and decoding the protobuf into Go structs (proto.Unmarshal, 236
// allocations) and walking them with protoreflect cost 40 µs and 30 µs more.
// This walker reads the JSON in place, allocating only for what it
// reports. walk_ref_test.go keeps the protobuf and protoreflect way as an
// oracle, and the tests require the two to agree.
type jsonWalker struct {
	b   string // the JSON text
	pos int

	ops        OpSet
	restricted []Func
	mergeActs  int // MERGE actions seen so far

	// sval and svalDepth are the raw text and depth of the last String
	// node's sval, for the hooks that read a list of names.
	sval      string
	hasSval   bool
	svalDepth int

	// relname and relnameDepth are the raw name and depth of the last
	// RangeVar seen, for hookTarget.
	relname      string
	relnameDepth int

	// insertSource is the depth of the SelectStmt an INSERT takes its rows
	// from, while that INSERT is walked.
	insertSource int

	// top collects the scalars of the statement object (at depth topDepth)
	// for commandName.
	topDepth int
	top      jsonFields
}

// maxDecodeDepth bounds the nesting the walker follows, like protobuf-go's
// own limit (protowire.DefaultRecursionLimit). Text that passed the guard
// can still nest that deep through right-nested constructs, which the C side
// survives (its parser stops at 10000 levels itself).
const maxDecodeDepth = 10000

var (
	errTooDeep        = errors.New("more than 10000 nested nodes")
	errBadJSON        = errors.New("malformed JSON")
	errUnknown        = errors.New("field unknown to pg_query's descriptors")
	onConflictNothing = pg_query.OnConflictAction_ONCONFLICT_NOTHING.String()
	mergeCommands     = map[string]OpSet{
		pg_query.CmdType_CMD_INSERT.String():  OpSet(0).With(OpInsert),
		pg_query.CmdType_CMD_UPDATE.String():  OpSet(0).With(OpUpdate),
		pg_query.CmdType_CMD_DELETE.String():  OpSet(0).With(OpDelete),
		pg_query.CmdType_CMD_NOTHING.String(): 0,
	}
)

// parseResult walks the whole output: {"version":…,"stmts":[RawStmt…]}.
// Only the first statement is walked: the caller refuses text with more
// than one, and walking the rest would only cost time; the others are
// skipped (and counted).
func (j *jsonWalker) parseResult() (statements int, command string, err error) {
	mi := schema.parseResult
	rawStmt := mi.fields[schema.jsonName("ParseResult", "stmts")].child
	err = j.members(func(key string) error {
		f := mi.fields[key]
		switch {
		case f == nil:
			return errUnknown
		case f.child != rawStmt:
			return j.skip()
		}
		return j.array(func() error {
			if statements++; statements > 1 {
				return j.skip()
			}
			return j.rawStmt(rawStmt)
		})
	})
	if err != nil {
		return 0, "", err
	}
	if j.skipSpace(); j.pos != len(j.b) {
		return 0, "", errBadJSON
	}
	if statements > 0 {
		command = commandName(j.top.msg, &j.top, j.top.into)
	}
	return statements, command, nil
}

// rawStmt walks {"stmt":{"<Type>":{…}},"stmt_len":…}, noting the depth of
// the statement object so that its scalars are kept for commandName.
func (j *jsonWalker) rawStmt(mi *msgInfo) error {
	j.topDepth = 3 // RawStmt 1, Node 2, the statement 3
	return j.object(mi, 1)
}

// object walks the JSON object at pos as a message of type mi.
func (j *jsonWalker) object(mi *msgInfo, depth int) error {
	if depth > maxDecodeDepth {
		return errTooDeep
	}
	if mi.op != 0 {
		j.ops = j.ops.With(mi.op)
	}
	if depth == j.topDepth {
		j.top.msg = mi.name
	}
	acts := j.mergeActs
	var (
		names      []string // FuncCall.funcname
		namesArray [4]string
		action     = ""
		command    = "-" // MergeWhenClause.command_type; "-" while absent
		values     bool  // SelectStmt.values_lists
	)
	names = namesArray[:0]
	err := j.members(func(key string) error {
		f := mi.fields[key]
		if f == nil {
			return errUnknown
		}
		switch f.hook {
		case hookFuncname:
			return j.elements(f.child, depth, func(_ int, name string, ok bool) {
				if !ok {
					name = "" // not an identifier: matches nothing
				}
				names = append(names, name)
			})
		case hookColumnFields:
			// PostgreSQL reads a.f as f(a) when a has no column f
			// ("functional notation", ParseFuncOrColumn in parse_func.c),
			// so in SELECT (42::int8).pg_advisory_lock or
			// SELECT t.id.pg_try_advisory_lock the function name is a field
			// name. Every name after the first is checked; a real column
			// that shares a restricted name is refused too, the safe side.
			return j.elements(f.child, depth, func(i int, name string, ok bool) {
				if i > 0 && ok {
					j.attribute(name)
				}
			})
		case hookIndirection:
			// (expr).f, the other spelling of the same notation.
			return j.elements(f.child, depth, func(_ int, name string, ok bool) {
				if ok {
					j.attribute(name)
				}
			})
		case hookInto:
			j.ops = j.ops.With(OpDDL) // SELECT … INTO creates a table
			if depth == j.topDepth {
				j.top.into = true
			}
		case hookValues:
			values = true
		case hookRelname:
			s, err := j.str()
			j.relname, j.relnameDepth = s, depth
			return err
		case hookTarget:
			j.relnameDepth = -1
			if err := j.value(f.child, depth+1); err != nil {
				return err
			}
			if j.relnameDepth == depth+1 && isSettingsView(unescape(j.relname)) {
				// UPDATE pg_settings is set_config in table form: the
				// view's rule (pg_settings_u) calls it, and PUBLIC may
				// update the view. So writing to it is SET, whatever the
				// account's UPDATE allows.
				j.ops = j.ops.With(OpOther)
			}
			return nil
		case hookInsertSource:
			outer := j.insertSource
			j.insertSource = depth + 2 // Node, then SelectStmt
			err := j.value(f.child, depth+1)
			j.insertSource = outer
			return err
		case hookLocking:
			// FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE lock rows, which
			// PostgreSQL grants with UPDATE and refuses in a read-only
			// transaction.
			j.ops = j.ops.With(OpUpdate)
		case hookConflictAction:
			s, err := j.str()
			action = s
			return err
		case hookMergeCommand:
			s, err := j.str()
			command = s
			return err
		case hookSval:
			s, err := j.str()
			j.sval, j.hasSval, j.svalDepth = s, true, depth
			return err
		}
		if f.child != nil {
			return j.value(f.child, depth+1)
		}
		if depth == j.topDepth {
			return j.keepTop(key)
		}
		return j.skip()
	})
	if err != nil {
		return err
	}
	switch mi.kind {
	case kindSelect:
		// A SelectStmt reads, except the VALUES list an INSERT takes its
		// rows from (INSERT … VALUES needs no SELECT, in PostgreSQL's
		// privileges either); a query inside such a list still counts,
		// as a SelectStmt of its own.
		if !values || depth != j.insertSource {
			j.ops = j.ops.With(OpSelect)
		}
	case kindFuncCall:
		// The last part is the function; any schema in front of it is
		// ignored (pg_catalog.set_config and myschema.set_config alike).
		if len(names) > 0 {
			if reason, ok := restrictedReason(unescape(names[len(names)-1])); ok {
				j.addRestricted(joinNames(names), reason)
			}
		}
	case kindOnConflict:
		if action != onConflictNothing {
			j.ops = j.ops.With(OpUpdate) // DO UPDATE, or anything newer: fail closed
		}
	case kindMergeWhen:
		ops, known := mergeCommands[command]
		if !known {
			ops = OpSet(0).With(OpInsert).With(OpUpdate).With(OpDelete)
		}
		if ops != 0 {
			j.ops |= ops
			j.mergeActs++
		}
	case kindMerge:
		if j.mergeActs == acts {
			// A MERGE whose every action is DO NOTHING writes nothing, and
			// PostgreSQL runs it in a read-only transaction, but it still
			// takes ROW EXCLUSIVE on its target, the lock of a write
			// (stronger than FOR UPDATE's), so it is not a plain read.
			j.ops = j.ops.With(OpUpdate)
		}
	}
	return nil
}

// value walks a message-typed field's value: an object, or for a repeated
// field an array of objects.
func (j *jsonWalker) value(mi *msgInfo, depth int) error {
	j.skipSpace()
	if j.pos < len(j.b) && j.b[j.pos] == '[' {
		return j.array(func() error { return j.object(mi, depth) })
	}
	return j.object(mi, depth)
}

// elements walks a repeated Node field (depth is its message's) and calls
// fn with each element's identifier, still escaped: the sval of a String
// node; ok is false for any other node (a * in a.*, an A_Indices in x[1]).
func (j *jsonWalker) elements(node *msgInfo, depth int, fn func(i int, name string, ok bool)) error {
	i := 0
	return j.array(func() error {
		j.hasSval = false
		if err := j.object(node, depth+1); err != nil {
			return err
		}
		ok := j.hasSval && j.svalDepth == depth+2 // Node, then String
		fn(i, j.sval, ok)
		i++
		return nil
	})
}

// isSettingsView reports whether a relation name (without schema) is
// pg_settings. Case is ignored: a quoted "PG_SETTINGS" is another relation,
// but refusing it costs nothing.
func isSettingsView(relname string) bool { return strings.EqualFold(relname, "pg_settings") }

// attribute checks a field name that PostgreSQL may read as a function call.
func (j *jsonWalker) attribute(raw string) {
	name := unescape(raw)
	if reason, ok := restrictedReason(name); ok {
		j.addRestricted(name, reason)
	}
}

func (j *jsonWalker) addRestricted(name, reason string) {
	for _, f := range j.restricted {
		if f.Name == name {
			return
		}
	}
	// name may be a piece of the JSON text, which must not be kept alive
	// (in the cache) by a few bytes of it.
	j.restricted = append(j.restricted, Func{Name: strings.Clone(name), Reason: reason})
}

// joinNames joins the parts of a qualified name with dots.
func joinNames(parts []string) string {
	if len(parts) == 1 {
		return unescape(parts[0])
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(unescape(p))
	}
	return b.String()
}

// keepTop records a scalar of the statement object for commandName.
func (j *jsonWalker) keepTop(key string) error {
	j.skipSpace()
	start := j.pos
	if err := j.skip(); err != nil {
		return err
	}
	j.top.kv = append(j.top.kv, jsonKV{key, j.b[start:j.pos]})
	return nil
}
