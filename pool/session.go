package pool

import (
	"github.com/jackc/pgx/v5/pgconn"
)

// watchedParams are the session parameters PostgreSQL reports to the client
// (GUC_REPORT) whenever they change, so Release can see without a round trip
// whether a query changed them: read-only mode, the effective identity, and
// the settings that shape how results are encoded. search_path is reported
// from PostgreSQL 18 on; before that it reads "" on both sides and never
// differs.
var watchedParams = [...]string{
	"default_transaction_read_only",
	"is_superuser",
	"session_authorization",
	"application_name",
	"TimeZone",
	"DateStyle",
	"IntervalStyle",
	"search_path",
	"standard_conforming_strings",
	"client_encoding",
}

// sessionKey is where a connection's baseline lives in PgConn.CustomData.
const sessionKey = "pgfast/pool.session"

// sessionBaseline holds the watched parameters' values right after connect.
type sessionBaseline [len(watchedParams)]string

// recordSession stores conn's current watched values as its baseline. It is
// called once per connection, after the startup parameters and AfterConnect
// have been applied.
func recordSession(pc *pgconn.PgConn) {
	b := new(sessionBaseline)
	for i, k := range watchedParams {
		b[i] = pc.ParameterStatus(k)
	}
	pc.CustomData()[sessionKey] = b
}

// sessionChanged reports the first watched parameter whose value differs
// from the connection's baseline, or "" when none does. It allocates nothing:
// map lookups and string compares.
func sessionChanged(pc *pgconn.PgConn) string { return sessionChangedExcept(pc, "") }

// sessionChangedExcept is sessionChanged that ignores the parameter skip.
func sessionChangedExcept(pc *pgconn.PgConn, skip string) string {
	b, ok := pc.CustomData()[sessionKey].(*sessionBaseline)
	if !ok {
		return ""
	}
	for i, k := range watchedParams {
		if k != skip && pc.ParameterStatus(k) != b[i] {
			return k
		}
	}
	return ""
}
