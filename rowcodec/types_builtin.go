package rowcodec

// builtinType is one built-in pg_type row. The table is generated from
// PostgreSQL 15 (go test -run TestBuiltinTypes -update) and checked
// against the server by that test.
type builtinType struct {
	oid  uint32
	name string
	kind byte
	elem uint32
}

// builtinByOID indexes builtinTypes.
var builtinByOID = func() map[uint32]*builtinType {
	m := make(map[uint32]*builtinType, len(builtinTypes))
	for i := range builtinTypes {
		m[builtinTypes[i].oid] = &builtinTypes[i]
	}
	return m
}()

// builtinInfo describes a built-in type.
func builtinInfo(oid uint32) (TypeInfo, bool) {
	bt := builtinByOID[oid]
	if bt == nil {
		return TypeInfo{}, false
	}
	return TypeInfo{OID: bt.oid, Name: bt.name, Kind: bt.kind, Elem: bt.elem}, true
}
