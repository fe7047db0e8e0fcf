package sqlclass

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestRestrictedReason(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		reason, ok := restrictedReason(name)
		if ok != want || ok && reason == "" {
			t.Fatalf("restrictedReason(%q): got %v %q; want %v", name, ok, reason, want)
		}
	}
	for _, g := range restrictedGroups {
		for _, n := range g.names {
			if n != strings.ToLower(n) || strings.TrimSpace(n) != n {
				t.Fatalf("entry %q: entries are lower case, without spaces", n)
			}
			name := strings.TrimSuffix(n, "*") + strings.Repeat("x", strings.Count(n, "*"))
			f(name, true)
			f(strings.ToUpper(name), true)
		}
	}
	f("set_config", true)
	f("lo_import", true)
	f("pg_try_advisory_xact_lock_shared", true)
	f("dblink_connect_u", true)
	f("database_to_xml_and_xmlschema", true)
	f("pg_stat_reset_single_table_counters", true)
	f("pg_replication_origin_session_setup", true)
	f("current_setting", false)
	f("currval", false)
	f("lower", false)
	f("pg_sleep", false)
	f("lo", false)
	f("pg_advisory", false)
	f("txid_current", false)
	f("set_configx", false)
	f("xset_config", false)
	// An exact entry wins over a prefix: lo_import's reason is about files.
	if r, _ := restrictedReason("lo_import"); !strings.Contains(r, "files") {
		t.Fatalf("lo_import: reason %q", r)
	}
}

// reviewedVolatile are pg_catalog's volatile functions that restricted.go
// leaves to every account, after review (see the comment there). An entry
// ending in "*" covers a family.
var reviewedVolatile = []string{
	"pg_sleep", "pg_sleep_for", "pg_sleep_until",
	"random", "random_normal", "gen_random_uuid", "uuidv4", "uuidv7", "clock_timestamp", "timeofday",
	"currval", "lastval", "pg_sequence_last_value",
	"pg_export_snapshot", "pg_stat_clear_snapshot", "pg_stat_force_next_flush",
	"current_query", "currtid2", "amvalidate", "pg_collation_actual_version", "pg_database_collation_actual_version",
	"pg_relation_size", "pg_table_size", "pg_indexes_size", "pg_total_relation_size", "pg_database_size", "pg_tablespace_size",
	"pg_lock_status", "pg_blocking_pids", "pg_safe_snapshot_blocking_pids", "pg_isolation_test_session_is_blocked",
	"pg_control_checkpoint", "pg_control_init", "pg_control_recovery", "pg_control_system",
	"pg_current_wal_flush_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_lsn",
	"pg_last_wal_receive_lsn", "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_last_committed_xact",
	"pg_is_in_recovery", "pg_is_wal_replay_paused", "pg_get_wal_replay_pause_state", "pg_get_wal_resource_managers",
	"pg_get_backend_memory_contexts", "pg_get_shmem_allocations", "pg_get_multixact_members",
	"pg_jit_available", "pg_notification_queue_usage", "pg_prepared_xact",
	"pg_partition_ancestors", "pg_partition_tree",
	"pg_stat_get_recovery_prefetch", "pg_stat_get_xact_*", "pg_stat_have_stats",
	"pg_xact_commit_timestamp", "pg_xact_commit_timestamp_origin", "pg_xact_status", "txid_status",
	// Handlers and trigger functions: take internal arguments, or refuse to
	// run unless the executor calls them.
	"bernoulli", "system", "*handler", "dsnowball_init", "dsnowball_lexize",
	"plpgsql_call_handler", "plpgsql_inline_handler", "plpgsql_validator",
	"RI_FKey_*", "suppress_redundant_updates_trigger", "tsvector_update_trigger", "tsvector_update_trigger_column",
	"unique_key_recheck",
}

func reviewed(name string) bool {
	for _, r := range reviewedVolatile {
		switch {
		case strings.HasSuffix(r, "*") && strings.HasPrefix(name, strings.TrimSuffix(r, "*")),
			strings.HasPrefix(r, "*") && strings.HasSuffix(name, strings.TrimPrefix(r, "*")),
			r == name:
			return true
		}
	}
	return false
}

// TestRestrictedCoversVolatileFunctions asks the PostgreSQL at hand for
// its volatile functions: each must be restricted or reviewed. A new
// PostgreSQL release brings new ones, and this test asks for a decision.
func TestRestrictedCoversVolatileFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT DISTINCT proname FROM pg_proc
		WHERE provolatile = 'v' AND pronamespace = 'pg_catalog'::regnamespace ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	restricted := 0
	for _, name := range names {
		if _, ok := restrictedReason(name); ok {
			restricted++
			continue
		}
		if !reviewed(name) {
			t.Errorf("volatile function pg_catalog.%s is neither restricted (restricted.go) nor reviewed (reviewedVolatile)", name)
		}
	}
	var version string
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&version)
	t.Logf("PostgreSQL %s: %d volatile functions, %d restricted", version, len(names), restricted)
	if len(names) < 100 {
		t.Fatalf("only %d volatile functions: is the query right?", len(names))
	}
}
