package pgfast

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// allowedImports is the README's architecture as a rule: which of our
// packages each package may import (test files aside). Leaves import
// nothing of ours. Keys and values are paths relative to the module; ""
// is the root package.
var allowedImports = map[string][]string{
	"":                       nil,
	"rowcodec":               nil,
	"pool":                   nil,
	"cache":                  nil,
	"limiter":                nil,
	"sqlclass":               nil,
	"jwtauth":                nil,
	"config":                 nil,
	"embedpg":                nil,
	"embedpg/pgtest":         {"embedpg"},
	"internal/testproc":      nil,
	"internal/testredis":     {"internal/testproc"},
	"internal/testpgbouncer": {"internal/testproc", "embedpg"},
	"sqlexec":                {"rowcodec", "pool"},
	"upstream":               nil,
	"openapi":                nil,
	"auditsink":              nil,
	"tracing":                nil,
	"script":                 nil,
	"engine":                 {"sqlexec", "upstream", "script", "openapi", "rowcodec", "pool", "cache", "limiter", "sqlclass", "jwtauth", "config", "auditsink", "tracing"},
	"bench":                  {"", "engine", "embedpg", "config"},
	"cmd/pgfast":             {"", "engine", "bench", "config", "embedpg"},
}

// plannedPackages are in the architecture (DESIGN §1) but may not exist
// yet: their rules hold once they do, and their absence is not an error.
var plannedPackages = map[string]bool{
	"script": true,
}

// thirdPartyRule confines a third-party module to the packages listed in
// only. A pattern ending in "/..." matches that package and every package
// below it ("internal/..."). A rule's path matches the import path itself
// and every subpackage (github.com/valyala/fasthttp/fasthttputil) but not
// a look-alike (github.com/valyala/fasthttpx).
type thirdPartyRule struct {
	path string
	only []string
	why  string
}

// thirdPartyRules are DESIGN §1's third-party rules.
var thirdPartyRules = []thirdPartyRule{
	{
		path: "github.com/valyala/fasthttp",
		only: []string{"engine", "upstream"},
		why:  "the HTTP edge and the HTTP backend are the only fasthttp users",
	},
	{
		path: "github.com/tsenart/vegeta",
		only: []string{"bench"},
		why:  "bench is the only vegeta user",
	},
	{
		path: "github.com/pganalyze/pg_query_go",
		only: []string{"sqlclass"},
		why:  "sqlclass is the only pg_query user",
	},
	{
		path: "github.com/yuin/gopher-lua",
		only: []string{"script"},
		why:  "script is the only gopher-lua user",
	},
	{
		path: "go.opentelemetry.io/otel",
		only: []string{"tracing"},
		why:  "tracing wraps the OpenTelemetry SDK; the engine holds its Tracer and Span values only",
	},
	{
		path: "github.com/jackc/pgx",
		only: []string{"sqlexec", "pool", "rowcodec", "embedpg", "embedpg/pgtest", "internal/..."},
		why:  "pgx stays below the engine; errors reach it as values with an SQLSTATE method",
	},
}

const module = "github.com/pgfast/pgfast"

// checkLayering returns every way graph breaks the architecture, sorted.
// graph maps each of our packages (path relative to the module, "" for the
// root) to its non-test imports as full import paths, ours and
// third-party alike, as `go list` reports them.
func checkLayering(graph map[string][]string, table map[string][]string, planned map[string]bool, rules []thirdPartyRule) []string {
	var bad []string
	for pkg, imports := range graph {
		allowed, known := table[pkg]
		if !known {
			bad = append(bad, fmt.Sprintf("package %q is not in the architecture table (README and layering_test.go)", pkg))
		}
		for _, imp := range imports {
			if dep, ours := relToModule(imp); ours {
				if known && !slices.Contains(allowed, dep) {
					bad = append(bad, fmt.Sprintf("%q imports %q; allowed of ours: %q", pkg, dep, allowed))
				}
				continue
			}
			for _, r := range rules {
				if under(imp, r.path) && !slices.ContainsFunc(r.only, func(p string) bool { return matchPackage(p, pkg) }) {
					bad = append(bad, fmt.Sprintf("%q imports %s; only %q may (%s)", pkg, imp, r.only, r.why))
				}
			}
		}
	}
	var missing []string
	for pkg := range table {
		if _, ok := graph[pkg]; !ok && !planned[pkg] {
			missing = append(missing, pkg)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		bad = append(bad, fmt.Sprintf("the table lists packages that do not exist: %q", missing))
	}
	sort.Strings(bad)
	return bad
}

// relToModule reports whether imp is one of our packages and its path
// relative to the module.
func relToModule(imp string) (string, bool) {
	if imp == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(imp, module+"/")
	return rel, ok
}

// under reports whether imp is root or a package below it.
func under(imp, root string) bool {
	return imp == root || strings.HasPrefix(imp, root+"/")
}

// matchPackage reports whether pkg matches pattern: the same path, or
// below it when pattern ends in "/...".
func matchPackage(pattern, pkg string) bool {
	if root, ok := strings.CutSuffix(pattern, "/..."); ok {
		return under(pkg, root)
	}
	return pattern == pkg
}

// TestImportsPointDown checks the module's real import graph.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
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
		rel, ours := relToModule(p.ImportPath)
		if !ours {
			t.Fatalf("go list ./... reported %s, outside %s", p.ImportPath, module)
		}
		graph[rel] = p.Imports
	}
	for _, v := range checkLayering(graph, allowedImports, plannedPackages, thirdPartyRules) {
		t.Error(v)
	}
}

// TestLayeringRulesCatchViolations breaks one rule at a time in a graph
// that keeps them all, and checks that the break, and only it, is reported.
func TestLayeringRulesCatchViolations(t *testing.T) {
	const (
		fasthttp = "github.com/valyala/fasthttp"
		pgx      = "github.com/jackc/pgx/v5"
		pgconn   = "github.com/jackc/pgx/v5/pgconn"
		pgquery  = "github.com/pganalyze/pg_query_go/v6"
		vegeta   = "github.com/tsenart/vegeta/v12/lib"
		lua      = "github.com/yuin/gopher-lua"
	)
	ours := func(rel string) string {
		if rel == "" {
			return module
		}
		return module + "/" + rel
	}
	// good is a graph that keeps every rule: each package imports all it
	// may of ours, plus the third-party packages it is the home of.
	good := func() map[string][]string {
		g := map[string][]string{}
		for pkg, allowed := range allowedImports {
			if plannedPackages[pkg] {
				continue
			}
			imports := []string{"context", "github.com/cespare/xxhash/v2"}
			for _, dep := range allowed {
				imports = append(imports, ours(dep))
			}
			g[pkg] = imports
		}
		g["engine"] = append(g["engine"], fasthttp, fasthttp+"/fasthttpadaptor")
		g["bench"] = append(g["bench"], vegeta)
		g["sqlclass"] = append(g["sqlclass"], pgquery, pgquery+"/parser")
		g["pool"] = append(g["pool"], pgx, "github.com/jackc/pgx/v5/pgxpool")
		g["sqlexec"] = append(g["sqlexec"], pgx, pgconn)
		g["rowcodec"] = append(g["rowcodec"], pgconn)
		g["embedpg"] = append(g["embedpg"], pgx)
		return g
	}
	f := func(name string, edit func(g map[string][]string), want ...string) {
		t.Helper()
		g := good()
		edit(g)
		got := checkLayering(g, allowedImports, plannedPackages, thirdPartyRules)
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = strings.Contains(got[i], want[i])
		}
		if !ok {
			t.Errorf("%s: got violations %q; want one per %q", name, got, want)
		}
	}
	add := func(pkg string, imports ...string) func(map[string][]string) {
		return func(g map[string][]string) { g[pkg] = append(g[pkg], imports...) }
	}

	// Graphs that keep the rules.
	f("the good graph", func(map[string][]string) {})
	f("planned upstream on fasthttp", add("upstream", fasthttp))
	f("planned script on gopher-lua", add("script", lua))
	f("an internal package on pgx", add("internal/testredis", pgx))
	f("pgtest on pgconn", add("embedpg/pgtest", pgconn))
	f("a look-alike of fasthttp", add("cache", "github.com/valyala/fasthttpx"))
	f("a planned package absent", func(g map[string][]string) { delete(g, "script") })

	// Third-party rules.
	f("engine on pgx", add("engine", pgx), `"engine" imports github.com/jackc/pgx/v5;`)
	f("engine on pgconn", add("engine", pgconn), `"engine" imports github.com/jackc/pgx/v5/pgconn;`)
	f("config on pgx", add("config", pgx), `"config" imports github.com/jackc/pgx/v5;`)
	f("the root package on pgx", add("", pgx), `"" imports github.com/jackc/pgx/v5;`)
	f("cmd on pgx", add("cmd/pgfast", pgx), `"cmd/pgfast" imports github.com/jackc/pgx/v5;`)
	f("upstream on pgx", add("upstream", pgx), `"upstream" imports github.com/jackc/pgx/v5;`)
	f("bench on fasthttp", add("bench", fasthttp), `"bench" imports github.com/valyala/fasthttp;`)
	f("cache on a fasthttp subpackage", add("cache", fasthttp+"/fasthttpadaptor"),
		`"cache" imports github.com/valyala/fasthttp/fasthttpadaptor;`)
	f("sqlexec on fasthttp", add("sqlexec", fasthttp), `"sqlexec" imports github.com/valyala/fasthttp;`)
	f("limiter on pg_query", add("limiter", pgquery), `"limiter" imports github.com/pganalyze/pg_query_go/v6;`)
	f("engine on pg_query", add("engine", pgquery+"/parser"), `"engine" imports github.com/pganalyze/pg_query_go/v6/parser;`)
	f("cmd on vegeta", add("cmd/pgfast", vegeta), `"cmd/pgfast" imports github.com/tsenart/vegeta/v12/lib;`)
	f("engine on vegeta", add("engine", vegeta), `"engine" imports github.com/tsenart/vegeta/v12/lib;`)
	f("engine on gopher-lua", add("engine", lua), `"engine" imports github.com/yuin/gopher-lua;`)
	f("two breaks in one package", add("jwtauth", fasthttp, pgx),
		`"jwtauth" imports github.com/jackc/pgx/v5;`, `"jwtauth" imports github.com/valyala/fasthttp;`)

	// Our own packages.
	f("cache on engine", add("cache", ours("engine")), `"cache" imports "engine";`)
	f("rowcodec on limiter", add("rowcodec", ours("limiter")), `"rowcodec" imports "limiter";`)
	f("engine on bench", add("engine", ours("bench")), `"engine" imports "bench";`)
	f("sqlexec on engine", add("sqlexec", ours("engine")), `"sqlexec" imports "engine";`)
	f("sqlexec on config", add("sqlexec", ours("config")), `"sqlexec" imports "config";`)
	f("the binary's pgtest", add("cmd/pgfast", ours("embedpg/pgtest")), `"cmd/pgfast" imports "embedpg/pgtest";`)
	f("a leaf on the root package", add("pool", ours("")), `"pool" imports "";`)
	f("a package not in the table", add("internal/b2s"), `package "internal/b2s" is not in the architecture table`)
	f("a package not in the table, on pgx", add("internal/b2s", pgx), `package "internal/b2s" is not in the architecture table`)
	f("sqlexec missing", func(g map[string][]string) { delete(g, "sqlexec") },
		`the table lists packages that do not exist: ["sqlexec"]`)
}

// TestBinaryDoesNotLinkTesting: test helpers (embedpg/pgtest,
// internal/testredis, internal/testpgbouncer, internal/testproc) stay out of the pgfast binary.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/pgfast").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasSuffix(dep, "/pgtest") || strings.HasSuffix(dep, "/testredis") || strings.HasSuffix(dep, "/testpgbouncer") || strings.HasSuffix(dep, "/testproc") {
			t.Errorf("cmd/pgfast links %s", dep)
		}
	}
}
