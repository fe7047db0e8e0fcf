// Package pool gives pgfast one pgx connection pool per database, and per
// account that needs its own role, read-only mode, timeout or size, each
// behind a gate that bounds how long a request may wait for a connection.
//
// # The gate
//
// The gate is a buffered channel of MaxConcurrentQueries slots in front of
// pgxpool. Acquire takes a free slot without blocking when it can, otherwise
// waits on a reused timer up to AcquireTimeout, then gives up with a
// *BusyError that the engine answers with 503 and a Retry-After estimated
// from the queue depth and the moving average of query time (Observe). Every
// outcome is counted in Stats. On the path where a slot is free, Acquire and
// Release allocate nothing.
//
// # Session settings
//
// statement_timeout, application_name, default_transaction_read_only, role
// and the planner Settings travel in the startup packet: no SET round trip
// per connection, and they become the session defaults (pg_settings.source
// is 'client'). A query's context deadline or cancellation sends a
// CancelRequest, so the statement stops on the server, not only in the
// client. Both a statement_timeout hit and a cancelled query surface as the
// server's *pgconn.PgError with SQLSTATE 57014 ("canceling statement due to
// statement timeout" or "... due to user request"); ctx.Err() tells the
// second from the first. After a cancel the connection goes back to the pool
// usable, or is closed if the server did not answer within a second.
//
// # Read-only accounts: defence in depth
//
// default_transaction_read_only=on is only a session default, and SQL can
// change it. What the tests in this package establish against a real server:
//
//   - A plain write in a read-only session fails with SQLSTATE 25006, and
//     so does a data-modifying CTE or a write inside a function called from
//     a SELECT, because the transaction itself is read-only.
//   - Inside a running read-only transaction, turning it read-write fails
//     once the transaction has taken its snapshot: set_config of
//     transaction_read_only from within a statement gets SQLSTATE 25001.
//   - But a later statement on the same session can write after
//     `SET default_transaction_read_only = off` or `SET SESSION
//     CHARACTERISTICS AS TRANSACTION READ WRITE`, and a multi-statement
//     string `SET TRANSACTION READ WRITE; INSERT ...` or `BEGIN READ WRITE;
//     INSERT ...` writes in one go. The Role, likewise, can be left with
//     `SET ROLE NONE` for the login user's identity.
//
// So read-only mode is a guard against accidents, not a boundary. The
// boundary is privileges: log read-only accounts in (the URL's user) as a
// role that holds only SELECT privileges, and every trick above ends in
// SQLSTATE 25006 or 42501 whatever the session settings say. Role alone is
// weaker, since SET ROLE NONE returns to the login user; it is a boundary
// only when the login user is itself unprivileged. Around that, three more
// layers narrow the window: the engine's statement classifier refuses SET,
// BEGIN, multi-statement strings and data-modifying statements before they
// reach the database; the extended protocol carries one statement per query
// (pgx's Query, and Exec with arguments: Exec without arguments falls back
// to the simple protocol, which runs a whole string of statements, so client
// SQL must not go through it); and Release closes any connection whose
// reported session state (read-only mode, is_superuser,
// session_authorization, TimeZone, DateStyle...) changed, so a successful
// SET cannot outlive the request that sent it, while SET LOCAL, which ends
// with its transaction, keeps the connection. Settings the server does not
// report (statement_timeout, work_mem, a role switch between two
// unprivileged roles) are not seen by that last check.
package pool
