package sqlclass

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// msgInfo is what the walker needs to know about one pg_query message type,
// taken from the protobuf descriptors once, at init. libpg_query's JSON
// output uses the same names as pg_query.proto's json_name options, so the
// descriptors describe the JSON too.
type msgInfo struct {
	name string
	kind msgKind
	// op is what a statement of this type performs (statement types only).
	op Op
	// fields maps each field's JSON name to what it holds.
	fields map[string]*fieldInfo
	desc   protoreflect.MessageDescriptor
}

// fieldInfo is one field of a msgInfo.
type fieldInfo struct {
	// child is the field's message type; nil for scalars (names, flags,
	// enums, locations). The walker enters every field that has one: that
	// is what makes the walk complete.
	child *msgInfo
	hook  fieldHook
}

// msgKind marks the message types whose end the walker acts on.
type msgKind uint8

const (
	kindPlain msgKind = iota
	kindSelect
	kindFuncCall
	kindOnConflict
	kindMerge
	kindMergeWhen
)

// fieldHook marks the fields the walker reads besides walking them.
type fieldHook uint8

const (
	hookNone           fieldHook = iota
	hookFuncname                 // FuncCall.funcname
	hookColumnFields             // ColumnRef.fields
	hookIndirection              // A_Indirection.indirection
	hookInto                     // SelectStmt.into_clause
	hookLocking                  // SelectStmt.locking_clause
	hookConflictAction           // OnConflictClause.action
	hookMergeCommand             // MergeWhenClause.command_type
	hookSval                     // String.sval
	hookValues                   // SelectStmt.values_lists
	hookInsertSource             // InsertStmt.select_stmt
	hookTarget                   // the relation of INSERT, UPDATE, DELETE, MERGE
	hookRelname                  // RangeVar.relname
)

// schema holds every message type reachable from ParseResult.
var schema = buildSchema()

type schemaInfo struct {
	parseResult *msgInfo
	byName      map[string]*msgInfo
}

func buildSchema() *schemaInfo {
	s := &schemaInfo{byName: map[string]*msgInfo{}}
	s.parseResult = s.info((&pg_query.ParseResult{}).ProtoReflect().Descriptor())
	kinds := map[string]msgKind{
		"FuncCall":         kindFuncCall,
		"OnConflictClause": kindOnConflict,
		"MergeStmt":        kindMerge,
		"MergeWhenClause":  kindMergeWhen,
	}
	for name, mi := range s.byName {
		mi.kind = kinds[name]
		switch {
		case name == "SelectStmt":
			mi.kind = kindSelect // its op is decided at its end
		case name == "InsertStmt":
			mi.op = OpInsert
		case name == "UpdateStmt":
			mi.op = OpUpdate
		case name == "DeleteStmt":
			mi.op = OpDelete
		case name == "MergeStmt":
			// Its actions decide; see jsonWalker.object.
		case name == "RawStmt":
			// The wrapper of every top-level statement, not one itself.
		case strings.HasSuffix(name, "Stmt"):
			k, ok := stmtKinds[name]
			if !ok {
				// A statement type newer than stmtKinds: fail closed.
				k.op = OpOther
			}
			mi.op = k.op
		}
	}
	s.hook("FuncCall", "funcname", hookFuncname)
	s.hook("ColumnRef", "fields", hookColumnFields)
	s.hook("A_Indirection", "indirection", hookIndirection)
	s.hook("SelectStmt", "into_clause", hookInto)
	s.hook("SelectStmt", "locking_clause", hookLocking)
	s.hook("SelectStmt", "values_lists", hookValues)
	s.hook("InsertStmt", "select_stmt", hookInsertSource)
	for _, stmt := range []string{"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"} {
		s.hook(stmt, "relation", hookTarget)
	}
	s.hook("RangeVar", "relname", hookRelname)
	s.hook("OnConflictClause", "action", hookConflictAction)
	s.hook("MergeWhenClause", "command_type", hookMergeCommand)
	s.hook("String", "sval", hookSval)
	return s
}

// info returns the msgInfo of d, building it (and those of its fields'
// types) on first use.
func (s *schemaInfo) info(d protoreflect.MessageDescriptor) *msgInfo {
	name := string(d.Name())
	if mi, ok := s.byName[name]; ok {
		return mi
	}
	mi := &msgInfo{name: name, fields: map[string]*fieldInfo{}, desc: d}
	s.byName[name] = mi // before the fields: the schema is recursive
	fields := d.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() {
			// pg_query.proto has no maps; refuse to start rather than
			// walk one wrongly.
			panic("BUG: sqlclass: pg_query message " + name + " has a map field")
		}
		f := &fieldInfo{}
		if md := fd.Message(); md != nil {
			f.child = s.info(md)
		}
		mi.fields[fd.JSONName()] = f
	}
	return mi
}

// hook marks a field, named as in pg_query.proto, for the walker.
func (s *schemaInfo) hook(msg, field string, h fieldHook) {
	mi := s.byName[msg]
	if mi == nil {
		panic("BUG: sqlclass: pg_query has no message " + msg)
	}
	fd := mi.desc.Fields().ByName(protoreflect.Name(field))
	if fd == nil {
		panic("BUG: sqlclass: pg_query message " + msg + " has no field " + field)
	}
	mi.fields[fd.JSONName()].hook = h
}

// jsonName is the JSON name of a field of message msg, named as in
// pg_query.proto.
func (s *schemaInfo) jsonName(msg, field string) string {
	if mi := s.byName[msg]; mi != nil {
		if fd := mi.desc.Fields().ByName(protoreflect.Name(field)); fd != nil {
			return fd.JSONName()
		}
	}
	panic("BUG: sqlclass: pg_query has no field " + msg + "." + field)
}
