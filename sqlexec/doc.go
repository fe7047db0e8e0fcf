// Package sqlexec is pgfast's SQL backend: it runs a compiled route
// statement, a raw query or a batch on a pooled connection — route settings
// and timeouts in the same round trip, cancellation on deadline or on the
// caller's context, pipelines, statements prepared once per connection —
// and encodes the rows through rowcodec into the caller's buffer.
//
// One streamer (Rows) serves routes and the raw query API alike: a result
// is read into a []byte chunk by chunk (Fill), so the caller decides
// whether to answer it whole, cache it, or stream it. One parameter codec
// (CheckText, EncodeJSON) gives one answer per type whatever the source of
// the value. Errors stay typed (*pgconn.PgError, pool's, ParamError); the
// HTTP edge classifies them once with Classify.
//
// sqlexec knows nothing of HTTP: its callers pass a context (cancelled when
// their client goes away) and a buffer.
package sqlexec
