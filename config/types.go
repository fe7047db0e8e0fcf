package config

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// YAML short tags the decoder looks at.
const (
	tagNull  = "!!null"
	tagBool  = "!!bool"
	tagStr   = "!!str"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagTime  = "!!timestamp"
	tagMerge = "!!merge"
)

// Duration is a non-negative time.Duration read from a Go duration string ("100ms", "1m30s") or
// a bare number of seconds (30, 1.5). It exists so that a config file writes durations the way
// people type them and so that a negative value is refused when the file is read, not when a
// timer misbehaves.
type Duration time.Duration

// ParseDuration parses s as a Duration: a Go duration string, or a bare number meaning seconds.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("cannot parse duration %q: empty", s)
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return secondsDuration(f, s)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("cannot parse duration %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative, got %q", s)
	}
	return Duration(d), nil
}

// secondsDuration converts a bare number of seconds; raw is the text for the error message.
func secondsDuration(f float64, raw string) (Duration, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("cannot parse duration %q", raw)
	case f < 0:
		return 0, fmt.Errorf("must not be negative, got %q", raw)
	case f*float64(time.Second) >= math.MaxInt64:
		return 0, fmt.Errorf("cannot parse duration %q: too long", raw)
	}
	return Duration(math.Round(f * float64(time.Second))), nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String renders d as a Go duration string ("1m30s"), which ParseDuration reads back.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads a duration string or a bare number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as \"30s\", got a %s", kindName(n))
	}
	switch n.ShortTag() {
	case tagStr, tagInt, tagFloat:
		v, err := ParseDuration(n.Value)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	return fmt.Errorf("must be a duration such as \"30s\", got %s", describe(n))
}

// ByteSize is a non-negative number of bytes read from an integer or a size string: "512KB",
// "1MiB", "1.5GB". KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB and TiB powers of 1024;
// units are case-insensitive and B is bytes. It exists so that limits read as people write them.
type ByteSize int64

// Size units, for literals and String.
const (
	Byte ByteSize = 1
	KB   ByteSize = 1000
	MB   ByteSize = 1000 * KB
	GB   ByteSize = 1000 * MB
	TB   ByteSize = 1000 * GB
	KiB  ByteSize = 1024
	MiB  ByteSize = 1024 * KiB
	GiB  ByteSize = 1024 * MiB
	TiB  ByteSize = 1024 * GiB
)

var byteUnits = map[string]ByteSize{
	"": Byte, "b": Byte,
	"kb": KB, "mb": MB, "gb": GB, "tb": TB,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
}

// ParseByteSize parses s as a ByteSize. The result must be a whole number of bytes.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.' || t[i] == '_' || t[i] == '-' || t[i] == '+') {
		i++
	}
	num := strings.ReplaceAll(t[:i], "_", "")
	unit, ok := byteUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok || num == "" {
		return 0, fmt.Errorf("cannot parse size %q: want bytes or a number with B, KB, KiB, MB, MiB, GB, GiB, TB or TiB", s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || strings.ContainsAny(num, "eE/") {
		return 0, fmt.Errorf("cannot parse size %q", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("must not be negative, got %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(unit)))
	if !r.IsInt() {
		return 0, fmt.Errorf("cannot parse size %q: not a whole number of bytes", s)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("cannot parse size %q: too large", s)
	}
	return ByteSize(r.Num().Int64()), nil
}

// String renders b with the largest unit that divides it exactly ("1MiB", "64MB", "1000B"),
// which ParseByteSize reads back.
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	for _, u := range [...]struct {
		size ByteSize
		name string
	}{{TiB, "TiB"}, {TB, "TB"}, {GiB, "GiB"}, {GB, "GB"}, {MiB, "MiB"}, {MB, "MB"}, {KiB, "KiB"}, {KB, "KB"}} {
		if b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// UnmarshalYAML reads an integer number of bytes or a size string.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a size such as \"1MiB\", got a %s", kindName(n))
	}
	switch n.ShortTag() {
	case tagStr, tagInt, tagFloat:
		v, err := ParseByteSize(n.Value)
		if err != nil {
			return err
		}
		*b = v
		return nil
	}
	return fmt.Errorf("must be a size such as \"1MiB\", got %s", describe(n))
}

// Rate is N events per Per: "1000/s", "6000/min", "10/h", or a bare number meaning per second.
// The zero Rate means no limit; it is written 0 or "unlimited".
type Rate struct {
	// N is how many events are allowed per Per; 0 means no limit.
	N int64
	// Per is the window N applies to: time.Second, time.Minute, time.Hour, or any positive
	// duration written after the slash ("100/10s").
	Per time.Duration
}

var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour,
}

// ParseRate parses s as a Rate.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if t == "unlimited" || t == "0" {
		return Rate{}, nil
	}
	num, unit, hasUnit := strings.Cut(t, "/")
	bad := fmt.Errorf("cannot parse rate %q: want N/s, N/min, N/h, a bare number (per second) or \"unlimited\"", s)
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return Rate{}, bad
	}
	per := time.Second
	if hasUnit {
		unit = strings.TrimSpace(unit)
		var ok bool
		if per, ok = rateUnits[unit]; !ok {
			d, err := time.ParseDuration(unit)
			if err != nil || d <= 0 {
				return Rate{}, bad
			}
			per = d
		}
	}
	if n == 0 {
		return Rate{}, fmt.Errorf("cannot parse rate %q: N must be > 0 (write 0 or \"unlimited\" for no limit)", s)
	}
	return Rate{N: n, Per: per}, nil
}

// IsZero reports whether r means "no limit".
func (r Rate) IsZero() bool { return r.N == 0 }

// PerSecond returns the rate in events per second (0 for no limit).
func (r Rate) PerSecond() float64 {
	if r.N == 0 || r.Per <= 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// String renders r as ParseRate reads it: "1000/s", "6000/min", "10/h", "5/30s" or "unlimited".
func (r Rate) String() string {
	if r.N == 0 {
		return "unlimited"
	}
	n := strconv.FormatInt(r.N, 10)
	switch r.Per {
	case time.Second:
		return n + "/s"
	case time.Minute:
		return n + "/min"
	case time.Hour:
		return n + "/h"
	}
	return n + "/" + r.Per.String()
}

// UnmarshalYAML reads a rate string or an integer (per second).
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a rate such as \"1000/s\", got a %s", kindName(n))
	}
	switch n.ShortTag() {
	case tagStr, tagInt:
		v, err := ParseRate(n.Value)
		if err != nil {
			return err
		}
		*r = v
		return nil
	}
	return fmt.Errorf("must be a rate such as \"1000/s\", got %s", describe(n))
}

// RateLimit is a Rate plus the burst a token bucket allows: a rate scalar ("1000/s", burst = N)
// or a map {rate: "1000/s", burst: 2000}. A Burst of 0 means N.
type RateLimit struct {
	Rate
	// Burst is how many events may arrive at once above the steady rate; default (0) is Rate.N.
	Burst int64
}

// rateLimitMap is the map form of RateLimit.
type rateLimitMap struct {
	Rate  Rate  `yaml:"rate"`
	Burst int64 `yaml:"burst"`
}

// EffectiveBurst returns Burst, or N when Burst is 0.
func (l RateLimit) EffectiveBurst() int64 {
	if l.Burst == 0 {
		return l.N
	}
	return l.Burst
}

// String renders l as "1000/s", or "1000/s burst 2000" when the burst differs from N.
func (l RateLimit) String() string {
	if l.Burst == 0 || l.Burst == l.N || l.N == 0 {
		return l.Rate.String()
	}
	return l.Rate.String() + " burst " + strconv.FormatInt(l.Burst, 10)
}

// UnmarshalYAML reads a rate scalar or the {rate, burst} map.
func (l *RateLimit) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	l.decodeAt(d, n, "")
	return d.err()
}

func (l *RateLimit) decodeAt(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		var r Rate
		if err := r.UnmarshalYAML(n); err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		*l = RateLimit{Rate: r, Burst: r.N}
		return
	}
	var m rateLimitMap
	if !d.decode(n, valueOf(&m), path) {
		return
	}
	if m.Burst == 0 {
		m.Burst = m.Rate.N
	}
	*l = RateLimit{Rate: m.Rate, Burst: m.Burst}
}

// Secret is a string that must not be printed: a database URL with a password, an API token, a
// JWT key. Written "env:NAME" in a file, Load replaces it with the value of the environment
// variable NAME. String, GoString and MarshalText return "***" (or "" when empty), so a Secret
// never shows in logs, errors or %v output; Value returns the text.
type Secret string

// Value returns the secret's text.
func (s Secret) Value() string { return string(s) }

// EnvName returns NAME when s is an unresolved "env:NAME" reference.
func (s Secret) EnvName() (string, bool) {
	name, ok := strings.CutPrefix(string(s), "env:")
	return name, ok
}

// String returns "***", or "" for an empty secret so that "unset" stays visible.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// GoString redacts %#v output.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalText redacts JSON and YAML output of a Config.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalYAML reads a scalar string; "env:NAME" must name a valid variable.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == tagBool {
		return fmt.Errorf("must be a string, got a %s", kindName(n))
	}
	if name, ok := strings.CutPrefix(n.Value, "env:"); ok && !isEnvName(name) {
		return fmt.Errorf("env: reference needs a variable name of letters, digits and _, got %q", name)
	}
	*s = Secret(n.Value)
	return nil
}

// isEnvName reports whether name is a portable environment variable name.
func isEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// describe names a node's kind and, for scalars, its value, for error messages.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case tagNull:
			return "null"
		case tagBool:
			return "boolean " + n.Value
		case tagInt, tagFloat:
			if !strings.ContainsAny(n.Value, "\n\r") {
				return n.Value
			}
		}
		return strconv.Quote(n.Value)
	}
	return "a " + kindName(n)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}
