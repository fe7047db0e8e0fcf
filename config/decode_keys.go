package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// The decoder's view of a struct's keys, and the typo hints of unknown-key errors.

// structInfo maps a struct type's YAML keys to field indexes.
type structInfo struct {
	index map[string]int
	keys  []string // in declaration order, for messages
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{index: make(map[string]int)}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		si.index[name] = i
		si.keys = append(si.keys, name)
	}
	structInfos.Store(t, si)
	return si
}

// hint lists the known keys, led by the closest one when key looks like a typo of it.
func (si *structInfo) hint(key string) string {
	known := "known keys: " + strings.Join(si.keys, ", ")
	if s := suggest(key, si.keys); s != "" {
		return fmt.Sprintf("did you mean %q? %s", s, known)
	}
	return known
}

// suggest returns the candidate within a small edit distance of key, or "".
func suggest(key string, candidates []string) string {
	best, bestDist := "", 3
	if len(key) <= 3 {
		bestDist = 2
	}
	lk := strings.ToLower(key)
	for _, c := range candidates {
		if dist := editDistance(lk, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parseBool reads YAML's booleans plus the on/off and yes/no spellings PostgreSQL users write.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "on", "yes":
		return true, true
	case "false", "off", "no":
		return false, true
	}
	return false, false
}

// joinPath appends a struct key to a path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapPath appends a map key: databases.main, or databases["a.b"] when the key needs quoting.
func mapPath(path, key string) string {
	if isSimpleName(key) {
		return joinPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// indexPath appends a list index: routes[1].
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// isSimpleName reports whether s is non-empty and only letters, digits, _ and -.
func isSimpleName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// valueOf returns the addressable value behind pointer p.
func valueOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
