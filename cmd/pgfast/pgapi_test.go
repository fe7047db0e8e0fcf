package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// pgAPIToken is the token of testdata/config/pgapi_flat/accounts.json.
const pgAPIToken = "sk_live_example_token_0123456789"

// A pg-api deployment runs unchanged: its README's server.json and
// accounts.json in ./config/, `pgfast serve` with no flags in that
// directory, the database in DATABASE_URL, and its README's requests.
func TestPgAPIConfigDirServesReadmeExamples(t *testing.T) {
	url := pgtest.NewDatabase(t)
	work := t.TempDir()
	dir := filepath.Join(work, "config")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join("..", "..", "testdata", "config", "pgapi_flat")
	server, err := os.ReadFile(filepath.Join(sample, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := os.ReadFile(filepath.Join(sample, "accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The account's database_url is the README's placeholder; point it at
	// the test database, nothing else changes.
	quoted, _ := json.Marshal(url)
	accounts = []byte(strings.Replace(string(accounts), `"postgres://app:app@127.0.0.1:5432/app?sslmode=disable"`, string(quoted), 1))
	for name, body := range map[string][]byte{"server.json": server, "accounts.json": accounts} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	env := []string{"DATABASE_URL=" + url, "PGFAST_ADMIN_ADDR=127.0.0.1:0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PGFAST_") && !strings.HasPrefix(kv, "APP__") && !strings.HasPrefix(kv, "PG__") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	// server.json says 127.0.0.1:8580; a test never takes a fixed port, so
	// the address alone is moved aside (the file's host/port mapping has
	// its own test in config).
	env = append(env, "PGFAST_ADDR=127.0.0.1:0")
	cmd := exec.Command(binary(t), "serve")
	cmd.Dir, cmd.Env = work, env
	base, admin, logs := startServing(t, cmd)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	_, serving := logs.waitMsg(t, 0, "pgfast serving", time.Second)
	if serving["config"] != "config" {
		t.Fatalf("serving %v; want config \"config\"", serving)
	}

	call := func(method, path, body string, wantStatus int, want ...string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if path != "/health" {
			req.Header.Set("Authorization", "Bearer "+pgAPIToken)
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: got %d %s; want %d", method, path, resp.StatusCode, b, wantStatus)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Fatalf("%s %s: got %s; want it to contain %s", method, path, b, w)
			}
		}
	}
	call("POST", "/v1/query", `{"query":"SELECT $1::boolean AS ok","params":[true],"database":"main"}`, 200, `"rows":[{"ok":true}]`)
	call("GET", "/health", "", 200, `"status":"ok"`)
	call("GET", "/v1/account", "", 200, `"id":"acc_example"`, `"name":"Example"`, `"allowed_operations":["SELECT"]`, `"pool":{"max_conns":10`)

	if n := metric(t, admin, `pgfast_account_pool_acquire_total{account="acc_example"}`); n < 1 {
		t.Fatalf("pgfast_account_pool_acquire_total of acc_example: got %v; want >= 1", n)
	}
	if n := metric(t, admin, `pgfast_pool_max_conns{pool="main"}`); n != 100 {
		t.Fatalf("pgfast_pool_max_conns of main: got %v; want server.json's max_connections 100", n)
	}
}

// startServing starts cmd, a `pgfast serve`, and returns its public and
// admin base URLs once it logs that it is serving.
func startServing(t *testing.T, cmd *exec.Cmd) (url, admin string, logs *lockedLog) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stderr, cmd.Stdout = pw, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
	})
	logs = newLockedLog()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.add(sc.Text())
		}
	}()
	_, serving := logs.waitMsg(t, 0, "pgfast serving", 60*time.Second)
	return "http://" + serving["addr"].(string), "http://" + serving["admin_addr"].(string), logs
}
