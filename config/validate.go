package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// validator collects the problems of one Validate call.
type validator struct {
	c    *Config
	errs []error
}

func (v *validator) fail(path, format string, args ...any) {
	switch {
	case len(v.errs) > maxErrors:
		return
	case len(v.errs) == maxErrors:
		v.errs = append(v.errs, &FieldError{Msg: "too many problems; fix these first"})
		return
	}
	where := v.c.origin.where(path)
	v.errs = append(v.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: lineOf(where), Where: where})
}

// Validate checks the whole configuration and returns every problem found, joined with
// errors.Join, each a *FieldError naming its field path; nil when the config is usable.
// Secret values never appear in the messages. Load and Parse call it after filling defaults.
// It does not touch the file system; Load also checks that static dirs and CA files exist.
func (c *Config) Validate() error { return c.validate(false) }

// validate is Validate, plus the checks of files and directories when files is set.
func (c *Config) validate(files bool) error {
	v := &validator{c: c}
	v.negatives()
	v.server()
	v.databases()
	v.accounts()
	v.upstreams()
	v.routes()
	v.cache()
	v.scriptsAndOpenAPI()
	v.limits()
	v.jwt()
	v.log()
	v.tracing()
	if c.DataDir == "" {
		v.fail("data_dir", "must not be empty")
	}
	if files {
		v.files()
	}
	return joinErrors(v.errs)
}

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// negatives refuses negative durations and sizes anywhere, as a Config built in Go may hold them.
func (v *validator) negatives() {
	walkFields(reflect.ValueOf(v.c).Elem(), "", func(path string, f reflect.Value) {
		switch f.Type() {
		case durationType:
			if d := Duration(f.Int()); d < 0 {
				v.fail(path, "must not be negative, got %s", d)
			}
		case byteSizeType:
			if b := f.Int(); b < 0 {
				v.fail(path, "must not be negative, got %d", b)
			}
		}
	})
}

func (v *validator) databases() {
	names := make([]string, 0, len(v.c.Databases))
	for name := range v.c.Databases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		db := v.c.Databases[name]
		p := mapPath("databases", name)
		if db == nil {
			v.fail(p, "must not be empty")
			continue
		}
		if id, ok := strings.CutPrefix(name, AccountDatabasePrefix); ok {
			if slices.ContainsFunc(v.c.Accounts, func(a Account) bool { return a.ID == id && a.DatabaseURL != "" }) {
				continue // made from the account's fields, which accounts() checks
			}
			v.fail(p, "the %q prefix is reserved for accounts' database_url", AccountDatabasePrefix)
		} else if !isSimpleName(name) {
			v.fail(p, "names may hold letters, digits, _ and - only")
		}
		switch {
		case db.URL == "" && name != MainDatabase:
			v.fail(p+".url", "required (only main may leave it empty, for the embedded PostgreSQL)")
		case db.URL != "":
			if msg := checkDatabaseURL(db.URL); msg != "" {
				v.fail(p+".url", "%s", msg)
			}
		}
		if db.MaxConns <= 0 {
			v.fail(p+".max_conns", "must be > 0, got %d", db.MaxConns)
		}
		if db.MinConns < 0 || db.MinConns > max(db.MaxConns, 0) {
			v.fail(p+".min_conns", "must be 0 to max_conns (%d), got %d", db.MaxConns, db.MinConns)
		}
		if db.MaxConcurrentQueries < 0 {
			v.fail(p+".max_concurrent_queries", "must be >= 0 (0 means max_conns), got %d", db.MaxConcurrentQueries)
		} else if db.AcquireTimeout == 0 && db.MaxConcurrentQueries > db.MaxConns {
			// The queries past max_conns wait inside the pool, which needs time to wait in.
			v.fail(p+".max_concurrent_queries", "must not exceed max_conns (%d) when acquire_timeout is 0, got %d", db.MaxConns, db.MaxConcurrentQueries)
		}
		if db.CoalesceRuns < 0 {
			v.fail(p+".coalesce_runs", "must be >= 0 (0 means no bound), got %d", db.CoalesceRuns)
		}
		v.enum(p+".statement_cache", db.StatementCache, StatementCachePrepare, StatementCacheDescribe)
		v.settings(p+".settings", db.Settings)
	}
}

// checkDatabaseURL returns what is wrong with a database url, without quoting it (it may hold a
// password), or "" when it looks usable. Unresolved env: references are not checked.
func checkDatabaseURL(s Secret) string {
	if _, ok := s.EnvName(); ok {
		return ""
	}
	str := strings.TrimSpace(s.Value())
	if strings.HasPrefix(str, "postgres://") || strings.HasPrefix(str, "postgresql://") {
		if _, err := url.Parse(str); err != nil {
			return "is not a valid URL (value hidden: it may hold a password)"
		}
		return ""
	}
	if dsnStart.MatchString(str) {
		return ""
	}
	return "must be a postgres:// or postgresql:// URL or a key=value DSN (value hidden: it may hold a password)"
}

var dsnStart = regexp.MustCompile(`^[A-Za-z_]+\s*=`)

// TokenHash returns the SHA-256 of the account's API token (from APIToken or APITokenSHA256),
// which is what requests are compared with; ok is false when neither is usable.
func (a Account) TokenHash() (sum [32]byte, ok bool) {
	if a.APIToken != "" {
		return sha256.Sum256([]byte(a.APIToken)), true
	}
	if len(a.APITokenSHA256) != 64 {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(a.APITokenSHA256)); err != nil {
		return sum, false
	}
	return sum, true
}

var accountIDRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (v *validator) accounts() {
	ids := make(map[string]int)
	tokens := make(map[[32]byte]int)
	for i, a := range v.c.Accounts {
		p := indexPath("accounts", i)
		switch prev, dup := ids[a.ID]; {
		case a.ID == "":
			v.fail(p+".id", "required")
		case !accountIDRe.MatchString(a.ID):
			v.fail(p+".id", "may hold letters, digits, _, . and - only, got %q", a.ID)
		case dup:
			v.fail(p+".id", "duplicate account id %q (also accounts[%d])", a.ID, prev)
		default:
			ids[a.ID] = i
		}
		switch {
		case a.APIToken == "" && a.APITokenSHA256 == "":
			v.fail(p, "set api_token or api_token_sha256")
		case a.APIToken != "" && a.APITokenSHA256 != "":
			v.fail(p, "set only one of api_token and api_token_sha256")
		case a.APITokenSHA256 != "" && (len(a.APITokenSHA256) != 64 || !isHex(a.APITokenSHA256)):
			v.fail(p+".api_token_sha256", "must be 64 hex characters (a SHA-256), got %d characters", len(a.APITokenSHA256))
		default:
			sum, _ := a.TokenHash()
			if prev, dup := tokens[sum]; dup {
				v.fail(p, "same API token as accounts[%d]", prev)
			} else {
				tokens[sum] = i
			}
		}
		if a.DatabaseURL != "" {
			if a.Database != "" && a.Database != AccountDatabasePrefix+a.ID {
				v.fail(p+".database_url", "set only one of database and database_url")
			} else if msg := checkDatabaseURL(a.DatabaseURL); msg != "" {
				v.fail(p+".database_url", "%s", msg)
			}
		} else {
			v.dbRef(p+".database", a.Database)
		}
		if a.RateLimit != nil {
			v.rateLimit(p+".rate_limit", *a.RateLimit)
		}
		if a.MaxConnections <= 0 {
			v.fail(p+".max_connections", "must be > 0, got %d", a.MaxConnections)
		}
		if len(a.AllowedOperations) == 0 {
			v.fail(p+".allowed_operations", "must not be empty (default [SELECT])")
		}
		for j, op := range a.AllowedOperations {
			v.enum(indexPath(p+".allowed_operations", j), strings.ToUpper(op), OpSelect, OpInsert, OpUpdate, OpDelete, OpDDL, OpAll)
		}
		if a.MaxRows < 0 {
			v.fail(p+".max_rows", "must be >= 0 (0 means unlimited), got %d", a.MaxRows)
		}
	}
}

// dbRef checks that name is a database; "main" also when only the embedded one is meant.
func (v *validator) dbRef(path, name string) {
	if name == "" || v.c.Databases[name] != nil {
		return
	}
	if name == MainDatabase && !v.c.hasUserDatabase() {
		return
	}
	have := make([]string, 0, len(v.c.Databases))
	for n := range v.c.Databases {
		have = append(have, n)
	}
	slices.Sort(have)
	v.fail(path, "no database named %q (databases: %s)", name, strings.Join(have, ", "))
}

func (v *validator) rateLimit(path string, l RateLimit) {
	switch {
	case l.N < 0:
		v.fail(path, "must not be negative, got %d", l.N)
	case l.N > 0 && l.Per <= 0:
		v.fail(path, "needs a positive period, got %s", l.Per)
	case l.Burst < 0:
		v.fail(path+".burst", "must be >= 0 (0 means the rate's N), got %d", l.Burst)
	}
}

var (
	routeNameRe   = regexp.MustCompile(`^[a-z0-9_-]+$`)
	identRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tableRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)
	settingNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// builtinPaths are served by pgfast itself; a route cannot take them.
var builtinPaths = []string{"/ping", "/health", "/ready", "/v1/query", "/v1/batch", "/v1/account"}

func (v *validator) settings(path string, s Settings) {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !settingNameRe.MatchString(name) {
			v.fail(mapPath(path, name), "not a setting name")
		}
	}
}

func (v *validator) cache() {
	if v.c.Cache.MaxBytes == 0 { // negative: refused with every other negative size
		v.fail("cache.max_bytes", "must be > 0, got %s; routes without a cache section are not cached", v.c.Cache.MaxBytes)
	}
	if v.c.Cache.StreamThresholdBytes <= 0 {
		v.fail("cache.stream_threshold_bytes", "must be > 0, got %s", v.c.Cache.StreamThresholdBytes)
	}
	v.prewarm()
}

func (v *validator) scriptsAndOpenAPI() {
	if v.c.ScriptLimits.Timeout <= 0 {
		v.fail("script_limits.timeout", "must be > 0, got %s", v.c.ScriptLimits.Timeout)
	}
	if v.c.ScriptLimits.MaxMemoryBytes <= 0 {
		v.fail("script_limits.max_memory_bytes", "must be > 0, got %s", v.c.ScriptLimits.MaxMemoryBytes)
	}
	if o := v.c.OpenAPI; o.Enabled && !strings.HasPrefix(o.Path, "/") {
		v.fail("openapi.path", "must start with /, got %q", o.Path)
	}
}

func (v *validator) limits() {
	l := &v.c.Limits
	v.rateLimit("limits.default", RateLimit{Rate: l.Default})
	if l.Burst < 0 {
		v.fail("limits.burst", "must be >= 0 (0 means the rate's N), got %d", l.Burst)
	}
	switch claim, isJWT := strings.CutPrefix(l.Key, "jwt."); {
	case isJWT && claim == "":
		v.fail("limits.key", "jwt. needs a claim name, such as jwt.sub")
	case isJWT && !v.c.Auth.JWT.Enabled():
		v.fail("limits.key", "%s needs auth.jwt (a secret, public_keys or jwks_url)", l.Key)
	case !isJWT:
		v.enum("limits.key", l.Key, KeyIP, KeyAccount, "jwt.<claim>")
	}
	v.enum("limits.algorithm", l.Algorithm, AlgoGCRA, AlgoSlidingWin)
	for i, s := range l.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			v.fail(indexPath("limits.trusted_proxies", i), "must be an IP or a CIDR such as 10.0.0.0/8, got %q", s)
		}
	}
	if l.RedisURL != "" {
		if _, ok := l.RedisURL.EnvName(); !ok {
			u, err := url.Parse(l.RedisURL.Value())
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
				v.fail("limits.redis_url", "must be a redis:// or rediss:// URL (value hidden: it may hold a password)")
			}
		}
	}
	if l.RedisTimeout <= 0 {
		v.fail("limits.redis_timeout", "must be > 0, got %s", l.RedisTimeout)
	}
}

func (v *validator) jwt() {
	j := &v.c.Auth.JWT
	const p = "auth.jwt"
	hasKeys := j.JWKSURL != "" || len(j.PublicKeys) > 0
	for i, a := range j.Algorithms {
		ap := indexPath(p+".algorithms", i)
		if !v.enum(ap, a, AlgHS256, AlgRS256, AlgES256, AlgEdDSA) {
			continue
		}
		switch {
		case a == AlgHS256 && j.Secret == "":
			v.fail(ap, "HS256 needs auth.jwt.secret")
		case a != AlgHS256 && !hasKeys:
			v.fail(ap, "%s needs auth.jwt.public_keys or auth.jwt.jwks_url", a)
		}
	}
	for i, c := range j.Require {
		v.enum(indexPath(p+".require", i), c, "exp", "nbf", "iat", "iss", "aud", "sub")
	}
	if _, isEnv := j.Secret.EnvName(); j.Secret != "" && !isEnv && len(j.Secret) < 32 {
		v.fail(p+".secret", "must be at least 32 bytes for HS256 (RFC 7518 §3.2), got %d", len(j.Secret))
	}
	if j.JWKSURL != "" {
		if u, err := url.Parse(j.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(p+".jwks_url", "must be an http:// or https:// URL, got %q", j.JWKSURL)
		}
		if j.JWKSRefresh <= 0 {
			v.fail(p+".jwks_refresh", "must be > 0, got %s", j.JWKSRefresh)
		}
	}
	for i, k := range j.PublicKeys {
		if k == "" {
			v.fail(indexPath(p+".public_keys", i), "must name a PEM file")
		}
	}
}

func (v *validator) log() {
	v.enum("log.level", v.c.Log.Level, "debug", "info", "warn", "error")
	v.enum("log.format", v.c.Log.Format, "json", "text")
	if o := v.c.Log.Audit.OpenSearch; o.Enabled() {
		const p = "log.audit.opensearch"
		if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(p+".url", "must be an http:// or https:// URL, got %q", o.URL)
		}
		if o.Index == "" {
			v.fail(p+".index", "must name an index")
		}
		if o.Batch <= 0 {
			v.fail(p+".batch", "must be > 0, got %d", o.Batch)
		}
		if o.FlushInterval <= 0 {
			v.fail(p+".flush_interval", "must be > 0, got %s", o.FlushInterval)
		}
	}
}

func (v *validator) tracing() {
	t := v.c.Tracing
	const p = "tracing"
	if t.Sample < 0 || t.Sample > 1 || t.Sample != t.Sample {
		v.fail(p+".sample", "must be between 0 and 1, got %v", t.Sample)
	}
	if !t.Enabled() {
		return
	}
	if u, err := url.Parse(t.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		v.fail(p+".otlp_endpoint", "must be an http:// or https:// base URL (/v1/traces is appended), got %q", t.OTLPEndpoint)
	}
	if t.ServiceName == "" {
		v.fail(p+".service_name", "must not be empty")
	}
}

// enum checks that s is one of allowed and reports whether it is.
func (v *validator) enum(path, s string, allowed ...string) bool {
	if slices.Contains(allowed, s) {
		return true
	}
	v.fail(path, "must be one of %s; got %q", strings.Join(allowed, ", "), s)
	return false
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as methods and header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
