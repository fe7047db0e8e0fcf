package sqlclass

import (
	"strings"
	"sync/atomic"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/proto"
)

// typicalSelect is the kind of query the raw query API sees.
const typicalSelect = `SELECT c.customer_id, c.first_name, c.last_name, count(o.order_id) AS orders
FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id
WHERE c.created_at > now() - interval '30 days' AND c.email LIKE $1
GROUP BY c.customer_id ORDER BY orders DESC LIMIT 50`

// Sink keeps results alive so the compiler cannot drop the work.
var Sink atomic.Pointer[Statement]

func BenchmarkClassify(b *testing.B) {
	b.Run("hit", func(b *testing.B) {
		if _, err := Classify(typicalSelect); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(typicalSelect)))
		for b.Loop() {
			st, _ := Classify(typicalSelect)
			Sink.Store(st)
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		if _, err := Classify(typicalSelect); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				st, _ := Classify(typicalSelect)
				Sink.Store(st)
			}
		})
	})
	// miss is the whole work for a new text: guard, parse, decode, walk.
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(typicalSelect)))
		for b.Loop() {
			st, err := classify(typicalSelect)
			if err != nil {
				b.Fatal(err)
			}
			Sink.Store(st)
		}
	})
	// The parts of a miss, to see where the time goes.
	b.Run("miss/parse-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseToJSON(typicalSelect); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss/walk-json", func(b *testing.B) {
		tree, _ := parser.ParseToJSON(typicalSelect)
		b.ReportAllocs()
		for b.Loop() {
			j := jsonWalker{b: tree}
			if _, _, err := j.parseResult(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The road not taken, for comparison: libpg_query's protobuf output,
	// decoded into Go structs and walked by protobuf reflection
	// (walk_ref_test.go).
	b.Run("oracle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refClassify(typicalSelect); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oracle/parse-protobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseToProtobuf(typicalSelect); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oracle/unmarshal", func(b *testing.B) {
		buf, _ := parser.ParseToProtobuf(typicalSelect)
		b.ReportAllocs()
		for b.Loop() {
			var tree pg_query.ParseResult
			if err := proto.Unmarshal(buf, &tree); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oracle/walk-reflect", func(b *testing.B) {
		tree, _ := pg_query.Parse(typicalSelect)
		b.ReportAllocs()
		for b.Loop() {
			w := refWalker{}
			w.fieldFn = w.field
			w.message(tree.Stmts[0].Stmt.ProtoReflect())
		}
	})
	// A 2 KB text: past maxNesting bytes, so the guard scans it first.
	long := "SELECT * FROM (" + strings.Repeat("("+typicalSelect+") UNION ALL ", 7) + "(" + typicalSelect + ")) u"
	b.Run("miss-long", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(long)))
		for b.Loop() {
			st, err := classify(long)
			if err != nil {
				b.Fatal(err)
			}
			Sink.Store(st)
		}
	})
	b.Run("miss-long/guard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := guard(long); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFingerprint(b *testing.B) {
	b.Run("hit", func(b *testing.B) {
		Fingerprint(typicalSelect)
		b.ReportAllocs()
		for b.Loop() {
			Fingerprint(typicalSelect)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fingerprint(typicalSelect)
		}
	})
}
