package sqlclass

import (
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// refClassify is the oracle for classify: the plain way of doing the same
// work, pg_query.Parse into Go structs and a walk by protobuf reflection
// over every populated field. It shares only stmtKinds, commandName and
// restricted.go with the byte walker, so a mistake in the wire decoding or
// in the schema tables built from descriptors shows up as a disagreement.
func refClassify(sql string) (*Statement, error) {
	if err := guard(sql); err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, syntaxError(err)
	}
	st := &Statement{Statements: len(tree.Stmts)}
	if st.Statements == 0 {
		return st, nil
	}
	first := tree.Stmts[0].GetStmt()
	if inner := first.ProtoReflect().WhichOneof(nodeOneof); inner != nil {
		m := first.ProtoReflect().Get(inner).Message()
		st.Command = commandName(string(m.Descriptor().Name()), reflectFields{m}, first.GetSelectStmt().GetIntoClause() != nil)
	}
	w := refWalker{sources: map[*pg_query.SelectStmt]bool{}}
	w.fieldFn = w.field
	w.message(first.ProtoReflect())
	st.Ops, st.Restricted = w.ops, w.restricted
	if st.Ops == 0 {
		st.Ops = st.Ops.With(OpOther)
	}
	return st, nil
}

var nodeOneof = (&pg_query.Node{}).ProtoReflect().Descriptor().Oneofs().ByName("node")

// reflectFields is stmtFields over a decoded message.
type reflectFields struct{ m protoreflect.Message }

func (f reflectFields) enum(field string) string {
	fd := f.m.Descriptor().Fields().ByName(protoreflect.Name(field))
	if fd == nil || !f.m.Has(fd) {
		return ""
	}
	return string(fd.Enum().Values().ByNumber(f.m.Get(fd).Enum()).Name())
}

func (f reflectFields) flag(field string) bool {
	fd := f.m.Descriptor().Fields().ByName(protoreflect.Name(field))
	return fd != nil && f.m.Get(fd).Bool()
}

type refWalker struct {
	sources    map[*pg_query.SelectStmt]bool // the row sources of INSERTs
	ops        OpSet
	restricted []Func
	fieldFn    func(protoreflect.FieldDescriptor, protoreflect.Value) bool
}

func (w *refWalker) message(m protoreflect.Message) {
	w.visit(m.Interface())
	m.Range(w.fieldFn)
}

func (w *refWalker) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch {
	case fd.Message() == nil:
	case fd.IsList():
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			w.message(l.Get(i).Message())
		}
	default:
		w.message(v.Message())
	}
	return true
}

func (w *refWalker) visit(m proto.Message) {
	switch n := m.(type) {
	case *pg_query.FuncCall:
		var parts []string
		for _, p := range n.Funcname {
			parts = append(parts, p.GetString_().GetSval())
		}
		if len(parts) > 0 {
			if r, ok := restrictedReason(parts[len(parts)-1]); ok {
				w.add(strings.Join(parts, "."), r)
			}
		}
	case *pg_query.ColumnRef:
		for _, f := range n.Fields[min(1, len(n.Fields)):] {
			w.attr(f)
		}
	case *pg_query.A_Indirection:
		for _, f := range n.Indirection {
			w.attr(f)
		}
	case *pg_query.SelectStmt:
		if len(n.ValuesLists) == 0 || !w.sources[n] {
			w.ops = w.ops.With(OpSelect)
		}
		if n.IntoClause != nil {
			w.ops = w.ops.With(OpDDL)
		}
		if len(n.LockingClause) > 0 {
			w.ops = w.ops.With(OpUpdate)
		}
	case *pg_query.InsertStmt:
		w.ops = w.ops.With(OpInsert)
		w.target(n.GetRelation())
		if src := n.GetSelectStmt().GetSelectStmt(); src != nil {
			w.sources[src] = true
		}
	case *pg_query.OnConflictClause:
		if n.Action != pg_query.OnConflictAction_ONCONFLICT_NOTHING {
			w.ops = w.ops.With(OpUpdate)
		}
	case *pg_query.UpdateStmt:
		w.ops = w.ops.With(OpUpdate)
		w.target(n.GetRelation())
	case *pg_query.DeleteStmt:
		w.ops = w.ops.With(OpDelete)
		w.target(n.GetRelation())
	case *pg_query.MergeStmt:
		w.target(n.GetRelation())
		acts := 0
		for _, c := range n.MergeWhenClauses {
			switch c.GetMergeWhenClause().GetCommandType() {
			case pg_query.CmdType_CMD_NOTHING:
			case pg_query.CmdType_CMD_INSERT:
				w.ops, acts = w.ops.With(OpInsert), acts+1
			case pg_query.CmdType_CMD_UPDATE:
				w.ops, acts = w.ops.With(OpUpdate), acts+1
			case pg_query.CmdType_CMD_DELETE:
				w.ops, acts = w.ops.With(OpDelete), acts+1
			default:
				w.ops, acts = w.ops.With(OpInsert).With(OpUpdate).With(OpDelete), acts+1
			}
		}
		if acts == 0 {
			w.ops = w.ops.With(OpUpdate)
		}
	default:
		name := string(m.ProtoReflect().Descriptor().Name())
		if strings.HasSuffix(name, "Stmt") {
			k, ok := stmtKinds[name]
			if !ok {
				k.op = OpOther
			}
			if k.op != 0 {
				w.ops = w.ops.With(k.op)
			}
		}
	}
}

// target marks writes to pg_settings as SET.
func (w *refWalker) target(rv *pg_query.RangeVar) {
	if isSettingsView(rv.GetRelname()) {
		w.ops = w.ops.With(OpOther)
	}
}

func (w *refWalker) attr(n *pg_query.Node) {
	if s := n.GetString_(); s != nil {
		if r, ok := restrictedReason(s.Sval); ok {
			w.add(s.Sval, r)
		}
	}
}

func (w *refWalker) add(name, reason string) {
	if !slices.ContainsFunc(w.restricted, func(f Func) bool { return f.Name == name }) {
		w.restricted = append(w.restricted, Func{name, reason})
	}
}

// checkAgainstOracle fails t when classify and refClassify disagree on sql.
// Restricted is compared as a set: the two walks visit fields in different
// orders.
func checkAgainstOracle(t *testing.T, sql string) {
	t.Helper()
	got, gerr := classify(sql)
	want, werr := refClassify(sql)
	if (gerr == nil) != (werr == nil) {
		// The byte walker has its own depth limit where proto.Unmarshal has
		// one too; both must refuse, possibly with different words.
		t.Fatalf("%q: classify error %v; oracle error %v", sql, gerr, werr)
	}
	if gerr != nil {
		return
	}
	if got.Statements != want.Statements || got.Command != want.Command || got.Ops != want.Ops {
		t.Fatalf("%q: classify %+v; oracle %+v", sql, got, want)
	}
	if !sameFuncs(got.Restricted, want.Restricted) {
		t.Fatalf("%q: classify restricted %v; oracle %v", sql, got.Restricted, want.Restricted)
	}
}

func sameFuncs(a, b []Func) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !slices.Contains(b, f) {
			return false
		}
	}
	return true
}
