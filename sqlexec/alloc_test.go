//go:build !race

package sqlexec

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestValidAllocs(t *testing.T) {
	in := []byte("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}")
	n := []byte(" -12345 ")
	b := []byte("Yes")
	if a := testing.AllocsPerRun(100, func() {
		Valid(pgtype.UUIDOID, in)
		Valid(pgtype.Int8OID, n)
		Valid(pgtype.BoolOID, b)
	}); a != 0 {
		t.Fatalf("Valid allocates %v times per call; want 0 (it runs on every route request)", a)
	}
}
