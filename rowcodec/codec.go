package rowcodec

import "time"

// kind selects the decoder a codec runs. Dispatch is one switch per value
// (a jump table), decided when the plan is built, never per row.
type kind uint8

const (
	kString      kind = iota // bytes are the text (text, varchar, bpchar, name, enums, text format)
	kTextNumber              // text-format number: bare when a JSON number, else quoted
	kTextBool                // text-format bool: "t"/"f"
	kTextJSON                // text-format json/jsonb: verbatim when valid
	kBool                    // boolsend
	kInt2                    // int2send
	kInt4                    // int4send
	kInt8                    // int8send
	kUint4String             // oid, xid, cid: unsigned, quoted
	kUint8String             // xid8: unsigned, quoted
	kFloat4                  // float4send
	kFloat8                  // float8send
	kNumeric                 // numeric_send
	kChar                    // "char"
	kJSON                    // json_send
	kJSONB                   // jsonb_send
	kJSONPath                // jsonpath_send
	kUUID                    // uuid_send
	kBytea                   // byteasend
	kDate                    // date_send
	kTime                    // time_send
	kTimeTZ                  // timetz_send
	kTimestamp               // timestamp_send
	kTimestampTZ             // timestamptz_send
	kInterval                // interval_send
	kInet                    // inet_send
	kCidr                    // cidr_send
	kMacaddr                 // macaddr_send
	kMacaddr8                // macaddr8_send
	kMoney                   // cash_send
	kArray                   // array_send
	kComposite               // record_send of a known composite type
	kRecord                  // record_send of an anonymous record
)

// codec turns one non-NULL value of one type into JSON. Codecs are built
// once (built-ins at init, others per Types) and are read-only afterwards,
// so any number of plans and goroutines share them.
type codec struct {
	kind kind
	// oid is the type this codec was built for (for arrays and
	// composites, the container type).
	oid uint32
	// elem decodes the elements of an array whose header names elemOID;
	// an element type that differs is looked up per value.
	elem    *codec
	elemOID uint32
	// fields are a composite's attributes in order.
	fields []field
}

// field is one attribute of a composite type.
type field struct {
	key   []byte // `"name":`, after a ',' except for the first field
	oid   uint32
	codec *codec // nil when the type has no binary decoder
}

// env is what a value's text depends on besides its bytes: the session
// settings row_to_json would see, and where to find codecs for types that
// only show up inside values (anonymous records).
type env struct {
	loc   *time.Location // nil or UTC: no zone lookups
	style intervalStyle
	types *Types // may be nil
}

// maxDepth bounds the nesting of arrays and records followed in one value.
const maxDepth = 64

// resolve finds the codec for a type OID met inside a value; nil if none.
func (e *env) resolve(oid uint32) *codec {
	if c := builtinCodecs[oid]; c != nil {
		return c
	}
	if e.types != nil {
		return e.types.codec(oid)
	}
	return nil
}

// encode appends the JSON of src, a non-NULL value of c's type.
func (c *codec) encode(e *env, dst, src []byte, depth int) ([]byte, error) {
	switch c.kind {
	case kString:
		return AppendString(dst, src), nil
	case kTextNumber:
		return appendTextNumber(dst, src)
	case kTextBool:
		return appendTextBool(dst, src)
	case kTextJSON:
		return appendTextJSON(dst, src)
	case kBool:
		return appendBool(dst, src)
	case kInt2:
		return appendInt2(dst, src)
	case kInt4:
		return appendInt4(dst, src)
	case kInt8:
		return appendInt8(dst, src)
	case kUint4String:
		return appendUint4String(dst, src)
	case kUint8String:
		return appendUint8String(dst, src)
	case kFloat4:
		return appendFloat4(dst, src)
	case kFloat8:
		return appendFloat8(dst, src)
	case kNumeric:
		return appendNumeric(dst, src)
	case kChar:
		return appendChar(dst, src)
	case kJSON:
		return appendJSON(dst, src)
	case kJSONB:
		return appendJSONB(dst, src)
	case kJSONPath:
		return appendJSONPath(dst, src)
	case kUUID:
		return appendUUID(dst, src)
	case kBytea:
		return appendBytea(dst, src)
	case kDate:
		return appendDate(dst, src)
	case kTime:
		return appendTime(dst, src)
	case kTimeTZ:
		return appendTimeTZ(dst, src)
	case kTimestamp:
		return appendTimestamp(dst, src)
	case kTimestampTZ:
		return appendTimestampTZ(dst, src, e.loc)
	case kInterval:
		return appendInterval(dst, src, e.style)
	case kInet:
		return appendInet(dst, src, false)
	case kCidr:
		return appendInet(dst, src, true)
	case kMacaddr:
		return appendMacaddr(dst, src, 6)
	case kMacaddr8:
		return appendMacaddr(dst, src, 8)
	case kMoney:
		return appendMoney(dst, src)
	case kArray:
		return appendArray(e, c, dst, src, depth)
	case kComposite, kRecord:
		return appendRecord(e, c, dst, src, depth)
	}
	panic("BUG: rowcodec: codec of unknown kind")
}

// scalarKinds maps the built-in types with a binary decoder to it.
var scalarKinds = map[uint32]kind{
	16:   kBool,
	17:   kBytea,
	18:   kChar,
	19:   kString, // name
	20:   kInt8,
	21:   kInt2,
	23:   kInt4,
	25:   kString,      // text
	26:   kUint4String, // oid
	28:   kUint4String, // xid
	29:   kUint4String, // cid
	114:  kJSON,
	650:  kCidr,
	700:  kFloat4,
	701:  kFloat8,
	705:  kString, // unknown
	774:  kMacaddr8,
	790:  kMoney,
	829:  kMacaddr,
	869:  kInet,
	1042: kString, // bpchar
	1043: kString, // varchar
	1082: kDate,
	1083: kTime,
	1114: kTimestamp,
	1184: kTimestampTZ,
	1186: kInterval,
	1266: kTimeTZ,
	1700: kNumeric,
	1790: kString, // refcursor
	2249: kRecord,
	2950: kUUID,
	3802: kJSONB,
	4072: kJSONPath,
	5069: kUint8String, // xid8
}

// textKind is the codec kind for a value received in text format: numbers,
// bools and JSON keep their JSON form (as row_to_json prints them), every
// other type becomes a string of its output text.
func textKind(oid uint32) kind {
	switch scalarKinds[oid] {
	case kInt2, kInt4, kInt8, kFloat4, kFloat8, kNumeric:
		return kTextNumber
	case kBool:
		return kTextBool
	case kJSON, kJSONB:
		return kTextJSON
	}
	return kString
}

// Shared codecs for text-format columns.
var textCodecs = [...]*codec{
	kString:     {kind: kString},
	kTextNumber: {kind: kTextNumber},
	kTextBool:   {kind: kTextBool},
	kTextJSON:   {kind: kTextJSON},
}

// builtinCodecs holds a codec for every built-in type with a binary
// decoder, arrays of them included. Built at init, read-only after.
var builtinCodecs = func() map[uint32]*codec {
	m := make(map[uint32]*codec, 2*len(scalarKinds))
	for oid, k := range scalarKinds {
		m[oid] = &codec{kind: k, oid: oid}
	}
	for _, bt := range builtinTypes {
		if bt.elem == 0 {
			continue
		}
		if ec := m[bt.elem]; ec != nil && ec.kind != kArray {
			m[bt.oid] = &codec{kind: kArray, oid: bt.oid, elem: ec, elemOID: bt.elem}
		}
	}
	return m
}()
