package embedpg

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultCustomers is how many demo customers LoadDemo writes.
const DefaultCustomers = 100_000

// DemoRole is the login role the demo's account connects as: it may read
// the demo tables and nothing else, so the published demo token is not a
// superuser's (no pg_read_file, no writes, whatever SQL it sends).
const DemoRole = "pgfast_demo"

// demoRoleSQL creates DemoRole once per cluster (roles are cluster-wide;
// concurrent creators lose the race quietly) and grants it SELECT on the
// demo table of the current database.
const demoRoleSQL = `DO $$BEGIN
  CREATE ROLE ` + DemoRole + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END$$;
GRANT USAGE ON SCHEMA public TO ` + DemoRole + `;
GRANT SELECT ON customer TO ` + DemoRole

// LoadDemo runs the demo schema (testdata/schema.sql, passed in by the caller
// so this package reads no files), creates DemoRole and fills the customer table with n
// deterministic rows through COPY. It is idempotent: an already filled table
// is left alone and LoadDemo reports loaded=false.
func LoadDemo(ctx context.Context, url string, schema []byte, n int) (loaded bool, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, fmt.Errorf("cannot connect to load demo data: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.PgConn().Exec(ctx, string(schema)).ReadAll(); err != nil {
		return false, fmt.Errorf("cannot create demo schema: %w", err)
	}
	if _, err := conn.PgConn().Exec(ctx, demoRoleSQL).ReadAll(); err != nil {
		return false, fmt.Errorf("cannot create the demo role: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM customer)").Scan(&exists); err != nil {
		return false, fmt.Errorf("cannot inspect demo data: %w", err)
	}
	if exists {
		return false, nil
	}
	if err := LoadCustomers(ctx, conn, n); err != nil {
		return false, err
	}
	return true, nil
}

// LoadCustomers appends customers 1..n to the customer table with COPY and
// analyzes it. The same n always gives the same rows.
func LoadCustomers(ctx context.Context, conn *pgx.Conn, n int) error {
	cols := []string{"customer_id", "first_name", "last_name", "email", "phone_number",
		"street", "city", "country", "active", "balance", "created_at", "notes"}
	var g customerGen
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if g.id >= int64(n) {
			return nil, nil
		}
		return g.next(), nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customer"}, cols, src); err != nil {
		return fmt.Errorf("cannot copy demo customers: %w", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE customer"); err != nil {
		return fmt.Errorf("cannot analyze customer: %w", err)
	}
	return nil
}

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace",
		"Hedy", "Ivan", "John", "Katherine", "Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi"}
	lastNames = []string{"Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen", "Hopper",
		"Lamarr", "Sutherland", "Backus", "Johnson", "Lamport", "Hamilton", "Wirth", "Dahl", "Perlman", "Goldwasser"}
	cities    = []string{"Lisbon", "Oslo", "Kyoto", "Nairobi", "Quito", "Tallinn", "Perth", "Montréal", "Zürich", "São Paulo"}
	countries = []string{"PT", "NO", "JP", "KE", "EC", "EE", "AU", "CA", "CH", "BR"}
	words     = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua")
)

// customerGen makes rows from a splitmix64 stream seeded by the row id, so a
// row's content does not depend on how many rows came before it.
type customerGen struct {
	id  int64
	buf strings.Builder
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *customerGen) next() []any {
	g.id++
	r := splitmix64(uint64(g.id))
	pick := func(list []string) string {
		r = splitmix64(r)
		return list[r%uint64(len(list))]
	}
	first, last := pick(firstNames), pick(lastNames)
	g.buf.Reset()
	for g.buf.Len() < 640 {
		if g.buf.Len() > 0 {
			g.buf.WriteByte(' ')
		}
		g.buf.WriteString(pick(words))
	}
	r = splitmix64(r)
	balance := fmt.Sprintf("%d.%02d", r%100000, (r>>20)%100)
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r%(4*365*24*3600)) * time.Second)
	city := int(r>>8) % len(cities)
	return []any{
		g.id,
		first,
		last,
		strings.ToLower(first) + "." + strings.ToLower(last) + strconv.FormatInt(g.id, 10) + "@example.com",
		fmt.Sprintf("+1-555-%03d-%04d", (r>>12)%1000, (r>>24)%10000),
		strconv.FormatUint((r>>32)%9999+1, 10) + " " + pick(lastNames) + " Street",
		cities[city],
		countries[city],
		r%7 != 0,
		balance,
		created,
		g.buf.String(),
	}
}
