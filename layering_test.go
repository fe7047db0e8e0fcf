package pgfast

import (
	"encoding/json"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// allowedImports is the README's architecture as a rule: which of our
// packages each package may import (test files aside). Leaves import
// nothing of ours.
var allowedImports = map[string][]string{
	"":                   nil,
	"rowcodec":           nil,
	"pool":               nil,
	"cache":              nil,
	"limiter":            nil,
	"sqlclass":           nil,
	"jwtauth":            nil,
	"config":             nil,
	"embedpg":            nil,
	"embedpg/pgtest":     {"embedpg"},
	"internal/testredis": nil,
	"engine":             {"rowcodec", "pool", "cache", "limiter", "sqlclass", "jwtauth", "config"},
	"bench":              {"", "engine", "embedpg", "config"},
	"cmd/pgfast":         {"", "engine", "bench", "config", "embedpg"},
}

const module = "github.com/pgfast/pgfast"

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		seen[rel] = true
		allowed, known := allowedImports[rel]
		if !known {
			t.Errorf("package %q is not in the architecture table (README and layering_test.go)", rel)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			ok := false
			for _, a := range allowed {
				ok = ok || a == dep
			}
			if !ok {
				t.Errorf("%s imports %s; allowed: %v", rel, dep, allowed)
			}
		}
	}
	var missing []string
	for p := range allowedImports {
		if !seen[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the table lists packages that do not exist: %v", missing)
	}
}

// TestBinaryDoesNotLinkTesting: test helpers (embedpg/pgtest,
// internal/testredis) stay out of the pgfast binary.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/pgfast").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasSuffix(dep, "/pgtest") || strings.HasSuffix(dep, "/testredis") {
			t.Errorf("cmd/pgfast links %s", dep)
		}
	}
}
