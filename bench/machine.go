package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
)

// detectMachine names this machine and the target's PostgreSQL.
func detectMachine(ctx context.Context, c *http.Client, target, token, version string) Machine {
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	return Machine{
		Cores:      runtime.NumCPU(),
		CPU:        cpuModel(cpuinfo),
		Go:         runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		PostgreSQL: postgresVersion(ctx, c, target, token),
		Pgfast:     version,
	}
}

// cpuModel returns the CPU model named in /proc/cpuinfo's text: "model name"
// on x86, "Model" or "Hardware" on some ARM boards, "cpu" on POWER; else
// "unknown CPU".
func cpuModel(cpuinfo []byte) string {
	found := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")
		if ok && v != "" && found[k] == "" {
			found[k] = v
		}
	}
	for _, k := range []string{"model name", "Model", "Hardware", "cpu"} {
		if v := found[k]; v != "" {
			return v
		}
	}
	return "unknown CPU"
}

// postgresVersion asks the target's /v1/query for SELECT version() and
// shortens the answer to "PostgreSQL 17.6 (Debian 17.6-1)" (the compiler
// part adds nothing to a benchmark header).
func postgresVersion(ctx context.Context, c *http.Client, target, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/v1/query",
		strings.NewReader(`{"query":"SELECT version() AS version"}`))
	if err != nil {
		return "PostgreSQL (unknown version)"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	body, err := do(c, req)
	if err != nil {
		return fmt.Sprintf("PostgreSQL (unknown version: %v)", err)
	}
	var res struct {
		Rows []struct {
			Version string `json:"version"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Rows) == 0 {
		return "PostgreSQL (unknown version: unexpected /v1/query answer)"
	}
	return shortVersion(res.Rows[0].Version)
}

// shortVersion cuts version()'s text before " on <platform>".
func shortVersion(v string) string {
	if i := strings.Index(v, " on "); i > 0 {
		v = v[:i]
	}
	return v
}
