package sqlclass

import "strings"

// restrictedGroups is the list of functions that need ALL, with the reason
// of each group: calling one is refused to any account not allowed ALL, in
// whatever statement and under whatever schema it is called.
//
// Why a list: a read-only account runs in read-only transactions under a
// role of its own, and PostgreSQL refuses its writes. These functions get
// past that, or reach beyond the account's own request: they change settings
// for the connection's next user, hold locks after the request, signal
// other sessions, read server files, or run SQL given as text where this
// classification cannot see it. User-defined functions are not listed; what
// they may do is the business of the account's role.
//
// How it was reviewed: every volatile function of pg_catalog in PostgreSQL 15
// (251 rows, 222 names, of SELECT proname FROM pg_proc WHERE provolatile =
// 'v' AND pronamespace = 'pg_catalog'::regnamespace) was read one by one,
// then the functions PostgreSQL 16 to 18 add, then the contrib modules that
// ship functions with side effects (adminpack, dblink, tablefunc,
// pg_visibility, pg_surgery, pg_stat_statements). The volatile functions
// left out are listed in restricted_test.go (reviewedVolatile), and
// TestRestrictedCoversVolatileFunctions fails when the PostgreSQL it runs
// against has one that is neither restricted nor reviewed. Left out, and why:
//   - pg_sleep, pg_sleep_for, pg_sleep_until: only time, which the account's
//     statement_timeout bounds;
//   - random, gen_random_uuid, clock_timestamp, timeofday: no effect beyond
//     their result (setseed, which changes what random returns next, is
//     restricted);
//   - currval, lastval, pg_sequence_last_value: read sequence state;
//   - txid_current, pg_current_xact_id (stable, not volatile): assign a
//     transaction id and nothing else, allowed in a read-only transaction;
//   - pg_export_snapshot: the snapshot lives until the transaction ends;
//   - pg_stat_clear_snapshot, pg_stat_force_next_flush: this session's own
//     statistics snapshot and flush;
//   - size and status readers (pg_relation_size, pg_database_size,
//     pg_lock_status, pg_blocking_pids, pg_control_*, pg_get_*,
//     pg_xact_status, pg_is_in_recovery, pg_last_*_lsn, …): reads;
//   - access-method, trigger and language handlers (bthandler,
//     RI_FKey_*, plpgsql_call_handler, …): take internal arguments or fail
//     when not called by the executor;
//   - pg_partition_*, currtid2, amvalidate, pg_collation_actual_version: reads.
//
// An entry ending in "*" matches every name that starts with what precedes
// it. Names are matched without regard to case (a quoted "SET_CONFIG" is a
// different function to PostgreSQL, but refusing it costs nothing).
var restrictedGroups = []struct {
	reason string
	names  []string
}{
	{
		"changes a setting of the session (SET in function form): it can turn read-only mode off, or leave the setting to the connection's next user",
		[]string{"set_config"},
	},
	{
		"reseeds random() for the rest of the session, past the request",
		[]string{"setseed"},
	},
	{
		"advances or sets a sequence, a write that rolling back does not undo",
		[]string{"nextval", "setval"},
	},
	{
		// PostgreSQL 15 runs lo_create, lo_from_bytea, lo_put, lowrite and
		// lo_unlink even in a read-only transaction: its read-only mode does
		// not cover large objects.
		"reads or writes large objects, storage outside every table, which read-only mode does not protect",
		[]string{"lo_*", "loread", "lowrite"},
	},
	{
		"takes or releases an advisory lock; a session-level one outlives the request and can block other clients",
		[]string{"pg_advisory_*", "pg_try_advisory_*"},
	},
	{
		"sends a notification to every listener of the channel (pgfast purges its cache on pgfast_invalidate)",
		[]string{"pg_notify"},
	},
	{
		"reads, lists or writes files on the database server",
		[]string{
			"pg_read_file", "pg_read_file_old", "pg_read_binary_file", "pg_stat_file",
			"pg_ls_*",                // pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, pg_ls_archive_statusdir, pg_ls_logicalsnapdir, pg_ls_logicalmapdir, pg_ls_replslotdir, pg_ls_summariesdir
			"lo_import", "lo_export", // also matched by lo_*; listed for the better reason
			"pg_file_*", "pg_logdir_ls", // adminpack: pg_file_write, pg_file_rename, pg_file_unlink, pg_file_sync, pg_file_read
			"pg_current_logfile", "pg_show_all_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings",
		},
	},
	{
		"runs SQL given as text (or every row of a table, schema or database), out of reach of this classification",
		[]string{
			"query_to_xml*", "cursor_to_xml*", "table_to_xml*", "schema_to_xml*", "database_to_xml*",
			"ts_stat", "ts_rewrite", // ts_stat(query), ts_rewrite(tsquery, select text)
			"dblink*",                // dblink, dblink_exec, dblink_open, dblink_connect, …
			"xpath_table",            // contrib xml2: builds and runs SQL from its text arguments
			"crosstab*", "connectby", // tablefunc
		},
	},
	{
		"signals, stops or inspects another session",
		[]string{"pg_terminate_backend", "pg_cancel_backend", "pg_log_backend_memory_contexts"},
	},
	{
		"controls the server: configuration, logs, WAL, backups or recovery",
		[]string{
			"pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old",
			"pg_switch_wal", "pg_switch_xlog", "pg_create_restore_point", "pg_log_standby_snapshot",
			"pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
			"pg_promote", "pg_wal_replay_pause", "pg_wal_replay_resume",
			"pg_xlog_replay_pause", "pg_xlog_replay_resume",
		},
	},
	{
		"creates, drops or consumes a replication slot or origin; a forgotten slot keeps WAL on disk until it fills",
		[]string{
			"pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
			"pg_drop_replication_slot", "pg_copy_physical_replication_slot",
			"pg_copy_logical_replication_slot", "pg_replication_slot_advance",
			"pg_sync_replication_slots",
			"pg_logical_*",            // pg_logical_slot_get_changes, pg_logical_emit_message, …
			"pg_replication_origin_*", // create, drop, advance, session setup, …
			"pg_show_replication_origin_status",
		},
	},
	{
		"resets statistics that monitoring relies on",
		[]string{"pg_stat_reset*", "pg_stat_statements_reset"},
	},
	{
		"writes catalogs, statistics or index and table pages outside any statement",
		[]string{
			"pg_import_system_collations", "pg_nextoid", "pg_extension_config_dump",
			"pg_stop_making_pinned_objects", "binary_upgrade_*",
			"brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range",
			"gin_clean_pending_list",
			"pg_restore_relation_stats", "pg_restore_attribute_stats",
			"pg_clear_relation_stats", "pg_clear_attribute_stats",
			"pg_truncate_visibility_map", "heap_force_kill", "heap_force_freeze",
		},
	},
}

// restrictedExact and restrictedPrefix are restrictedGroups indexed for
// lookup, built once.
var (
	restrictedExact  = map[string]string{}
	restrictedPrefix []restrictedPrefixEntry
)

type restrictedPrefixEntry struct{ prefix, reason string }

func init() {
	for _, g := range restrictedGroups {
		for _, n := range g.names {
			if p, ok := strings.CutSuffix(n, "*"); ok {
				restrictedPrefix = append(restrictedPrefix, restrictedPrefixEntry{p, g.reason})
				continue
			}
			if _, dup := restrictedExact[n]; !dup { // first group wins
				restrictedExact[n] = g.reason
			}
		}
	}
}

// restrictedReason reports whether a function name (without schema) needs
// ALL, and why. An exact entry wins over a prefix. Names are almost always
// lower case already (the parser folds unquoted ones), so lowering is the
// rare path; the common one allocates nothing.
func restrictedReason(name string) (string, bool) {
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	if r, ok := restrictedExact[name]; ok {
		return r, true
	}
	for _, p := range restrictedPrefix {
		if strings.HasPrefix(name, p.prefix) {
			return p.reason, true
		}
	}
	return "", false
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
