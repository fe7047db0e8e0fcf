package engine

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// The accounts' own pools are in /metrics (pgfast_account_pool_*{account})
// and in /admin/stats (accounts.ID.pool), beside the databases' pools, and an
// account with an inline database_url (whose database pool is
// pool="account:ID") answers to "main" and to its id.
func TestAccountPoolMetrics(t *testing.T) {
	own := pgtest.NewDatabase(t)
	f := newQueryFixture(t, fmt.Sprintf("  - {id: own, name: Own, api_token: sk_test_own, database_url: %q, max_connections: 2}\n", own))
	type stats struct {
		Pools    map[string]json.RawMessage `json:"pools"`
		Accounts map[string]struct {
			Pool struct{ MaxConns, AcquireCount int64 }
		} `json:"accounts"`
	}
	adminStats := func() stats {
		t.Helper()
		var st stats
		r := get(t, f.admin+"/admin/stats")
		r.expect(t, 200)
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatalf("/admin/stats %s: %v", r.body, err)
		}
		return st
	}
	// Start-up checks of read-only accounts take connections too.
	before := adminStats().Accounts["own"].Pool.AcquireCount

	for _, db := range []string{"main", "own", ""} {
		f.query(t, "sk_test_own", fmt.Sprintf(`{"query":"SELECT $1::boolean AS ok","params":[true],"database":%q}`, db)).
			expect(t, 200, `"rows":[{"ok":true}]`)
	}
	f.query(t, "sk_test_own", `{"query":"SELECT 1","database":"other"}`).expect(t, 403, `may only query database`)

	st := adminStats()
	if p := st.Accounts["own"].Pool; p.MaxConns != 2 || p.AcquireCount != before+3 {
		t.Fatalf("/admin/stats accounts.own.pool: got %+v; want max 2, %d acquires", p, before+3)
	}
	if st.Pools["main"] == nil || st.Pools["account:own"] == nil {
		t.Fatalf("/admin/stats pools: got %v; want main and account:own", st.Pools)
	}
	get(t, f.admin+"/metrics").expect(t, 200,
		`pgfast_account_pool_max_conns{account="ro"} 3`,
		`pgfast_account_pool_max_conns{account="own"} 2`,
		fmt.Sprintf(`pgfast_account_pool_acquire_total{account="own"} %d`, before+3),
		`pgfast_account_pool_in_use{account="admin"} 0`,
		`pgfast_pool_max_conns{pool="main"} 4`,
		`pgfast_pool_max_conns{pool="account:own"} 2`)
}
