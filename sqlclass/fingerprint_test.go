package sqlclass

import (
	"strings"
	"testing"
)

func TestFingerprintShape(t *testing.T) {
	// Same shape, different literals, spacing, case and comments: one hash.
	same := [][]string{
		{
			"SELECT * FROM t WHERE id = 1 AND v = 'alice'",
			"select *  from t\nwhere id = 42 and v = 'bob' -- who",
			"SELECT /* c */ * FROM t WHERE id = $1 AND v = $2",
		},
		{
			"INSERT INTO t VALUES (1, 'x', 2.5)",
			"INSERT INTO t VALUES (99, 'secret', -7e3)",
		},
		{
			"SELECT * FROM t WHERE id IN (1, 2, 3)",
			"SELECT * FROM t WHERE id IN (4, 5)",
		},
	}
	seen := map[string]string{}
	for _, group := range same {
		want, _ := Fingerprint(group[0])
		if want == unparsable || len(want) != 16 {
			t.Fatalf("Fingerprint(%q): hash %q", group[0], want)
		}
		for _, sql := range group[1:] {
			if got, _ := Fingerprint(sql); got != want {
				t.Fatalf("Fingerprint(%q) = %s; want %s, as for %q", sql, got, want, group[0])
			}
		}
		if other, dup := seen[want]; dup {
			t.Fatalf("%q and %q share a hash", group[0], other)
		}
		seen[want] = group[0]
	}
	// A different shape: a different hash.
	a, _ := Fingerprint("SELECT * FROM t WHERE id = 1")
	b, _ := Fingerprint("SELECT * FROM t WHERE n = 1")
	if a == b {
		t.Fatal("different columns share a hash")
	}
}

func TestFingerprintHidesLiterals(t *testing.T) {
	// Each statement holds the literal S3cr3t (or 424242) somewhere
	// pg_query's normalizer reaches, or somewhere it does not.
	for _, sql := range []string{
		"SELECT * FROM t WHERE v = 'S3cr3t' AND id = 424242",
		"SELECT $$S3cr3t$$, E'S3cr3t', U&'S3cr3t', B'0101', X'424242', 424242.5e1",
		"SELECT 1 -- S3cr3t\n",
		"SELECT /* S3cr3t */ 1",
		"SET password_encryption = 'S3cr3t'",
		"ALTER ROLE x PASSWORD 'S3cr3t'",
		"CREATE USER MAPPING FOR u SERVER s OPTIONS (password 'S3cr3t')",
		"CREATE SERVER s FOREIGN DATA WRAPPER f OPTIONS (password 'S3cr3t')",
		"COPY t FROM '/tmp/S3cr3t'",
		"COMMENT ON TABLE t IS 'S3cr3t'",
		"ALTER SYSTEM SET work_mem = 'S3cr3t'",
		"PREPARE p AS SELECT 'S3cr3t'",
		"CREATE TABLE t2 AS SELECT 'S3cr3t'",
		"CREATE VIEW v AS SELECT 'S3cr3t'",
		"CREATE TABLE x (a text DEFAULT 'S3cr3t', b int DEFAULT 424242)",
		"CREATE INDEX ON t (v) WHERE v = 'S3cr3t'",
		"CREATE POLICY p ON t USING (v = 'S3cr3t')",
		"SELECT * FROM json_table('[1]', '$[*]' COLUMNS (a text PATH '$.S3cr3t'))",
		"NOTIFY ch, 'S3cr3t'",
		"LOAD 'S3cr3t'",
		"SECURITY LABEL ON TABLE t IS 'S3cr3t'",
		"DO $$ BEGIN RAISE NOTICE 'S3cr3t'; END $$",
		"SELECT $1, 'S3cr3t', $2",
	} {
		hash, norm := Fingerprint(sql)
		if hash == unparsable {
			t.Fatalf("Fingerprint(%q): unparsable", sql)
		}
		if strings.Contains(norm, "S3cr3t") || strings.Contains(norm, "424242") {
			t.Fatalf("Fingerprint(%q): normalized %q keeps a literal", sql, norm)
		}
		checkFingerprint(t, sql)
	}
	if _, norm := Fingerprint("SELECT $1, 'S3cr3t', $2"); norm != "SELECT $1, $3, $2" {
		t.Fatalf("parameters renumbered: got %q", norm)
	}
}

func TestFingerprintUnparsable(t *testing.T) {
	for _, sql := range []string{"SELEC 1", "SELECT 'S3cr3t", "SELECT 1\x00", "SELECT '\xff'", deepText(0, 30000)} {
		if hash, norm := Fingerprint(sql); hash != unparsable || norm != "" {
			t.Fatalf("Fingerprint(%.40q): got %q, %q; want unparsable", sql, hash, norm)
		}
	}
	if hash, norm := Fingerprint(""); hash == unparsable || norm != "" {
		t.Fatalf(`Fingerprint(""): got %q, %q`, hash, norm)
	}
}
