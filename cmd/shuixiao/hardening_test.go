package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/shuixiao/shuixiao/internal/logbuf"
)

// TestRevokedAdminTokenStarts is finding 4 of issue 13: revoking the data
// directory's admin token through the API made every later start fail
// ("create token …: already exists"). The server now starts, says so in
// one log line, and removing admin.token mints a new admin token.
func TestRevokedAdminTokenStarts(t *testing.T) {
	dir := t.TempDir()
	open := func(log *logbuf.Buffer) *server { return openLogged(t, dir, log) }
	s := open(&logbuf.Buffer{})
	first := s.token
	var me struct{ ID string }
	must(t, s.client(first).get("/api/v1/me", &me))
	must(t, s.client(first).post("/api/v1/tokens/"+me.ID+"/revoke", nil, nil))
	s.Close(context.Background())

	var log logbuf.Buffer
	s = open(&log)
	if s.token != "" || strings.Count(log.String(), "admin token was revoked") != 1 || !strings.Contains(log.String(), "管理员令牌已被吊销") {
		t.Fatalf("token %q, log:\n%s", s.token, log.String())
	}
	if code, _ := s.client(first).do("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Errorf("the revoked admin token answers %d", code)
	}
	s.Close(context.Background())

	// The operator mints a new one as the log line says.
	must(t, os.Remove(filepath.Join(dir, adminTokenFile)))
	s = open(&logbuf.Buffer{})
	defer s.Close(context.Background())
	if s.token == "" || s.token == first {
		t.Fatalf("new admin token %q", s.token)
	}
	must(t, s.client(s.token).get("/api/v1/me", &me))
	if code, _ := s.client(first).do("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Errorf("the revoked admin token answers %d after a new one was minted", code)
	}
}

// openLogged opens a server on dir with free ports, logging to log.
func openLogged(t *testing.T, dir string, log *logbuf.Buffer) *server {
	t.Helper()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

// TestDamagedAdminTokenFileStarts: an admin.token emptied or cut short (a
// crash while it was written, a full disk) used to stop the server from
// starting. It is set aside, a new admin token is minted and works, and the
// token of the damaged file's predecessor is retired.
func TestDamagedAdminTokenFileStarts(t *testing.T) {
	dir := t.TempDir()
	open := func(log *logbuf.Buffer) *server { return openLogged(t, dir, log) }
	s := open(&logbuf.Buffer{})
	first := s.token
	s.Close(context.Background())
	for _, damaged := range []string{"", first[:7]} {
		must(t, os.WriteFile(filepath.Join(dir, adminTokenFile), []byte(damaged), 0o600))
		var log logbuf.Buffer
		s = open(&log)
		if s.token == "" || s.token == first || !strings.Contains(log.String(), "admin token file was damaged") {
			t.Fatalf("after a damaged file %q: token %q, log:\n%s", damaged, s.token, log.String())
		}
		must(t, s.client(s.token).get("/api/v1/me", nil))
		if code, _ := s.client(first).do("GET", "/api/v1/me", nil, nil); code != 401 {
			t.Errorf("the earlier admin token answers %d after a new one was minted", code)
		}
		b, err := os.ReadFile(filepath.Join(dir, adminTokenFile))
		if err != nil || strings.TrimSpace(string(b)) != s.token {
			t.Errorf("admin.token holds %q, %v; want the new token", b, err)
		}
		s.Close(context.Background())
	}
	aside, _ := filepath.Glob(filepath.Join(dir, adminTokenFile+".damaged-*"))
	if len(aside) == 0 {
		t.Errorf("no damaged file set aside")
	}
}

// TestLedgerEntriesNeedAuditor is part of finding 8 of issue 13: the public
// /ledger/ tiles gave anyone every tenant's readings and commands, and
// /metrics was public. Checkpoints and hash tiles stay public; entry
// bundles and metrics need an admin or auditor token; `shuixiao verify log`
// sends one with --token.
func TestLedgerEntriesNeedAuditor(t *testing.T) {
	s := startTestServer(t, t.TempDir())
	admin := s.client(s.token)
	province(t, admin) // two key entries on the ledger
	ctx := context.Background()
	size, err := s.ledger.Size(ctx)
	if err != nil || size < 2 {
		t.Fatalf("ledger size %d: %v", size, err)
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := s.ledger.AwaitPublished(actx, size-1); err != nil {
		t.Fatal(err)
	}
	secret := map[string]string{"admin": s.token}
	for _, tk := range []struct{ role, scope string }{{"auditor", ""}, {"enterprise", "E1"}, {"regulator", ""}} {
		var out struct{ Secret string }
		must(t, admin.post("/api/v1/tokens", map[string]string{"role": tk.role, "scope": tk.scope}, &out))
		secret[tk.role] = out.Secret
	}
	status := func(path, who string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL()+path, nil)
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+secret[who])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bundle := "/ledger/" + layout.EntriesPath(0, uint8(size))
	hashTile := "/ledger/" + layout.TilePath(0, 0, uint8(size))
	for _, c := range []struct {
		path, who string
		want      int
	}{
		{"/ledger/checkpoint", "", 200},
		{hashTile, "", 200},
		{bundle, "", 401},
		{strings.Replace(bundle, "entries", "%65ntries", 1), "", 401},
		{strings.Replace(bundle, "/tile/", "/tile/./", 1), "", 401},
		{bundle, "enterprise", 403},
		{bundle, "regulator", 403},
		{bundle, "auditor", 200},
		{bundle, "admin", 200},
		{"/metrics", "", 401},
		{"/metrics", "enterprise", 403},
		{"/metrics", "auditor", 200},
	} {
		if got := status(c.path, c.who); got != c.want {
			t.Errorf("GET %s as %q: HTTP %d, want %d", c.path, c.who, got, c.want)
		}
	}

	// The auditor's independent check still works, with the token.
	key := s.ledger.VerifierKey()
	code, _, errs := runVerifyCmd(t, "log", s.URL()+"/ledger/", "--log-key", key)
	if code != 1 || !strings.Contains(errs, "--token") {
		t.Errorf("verify log without a token: exit %d\n%s", code, errs)
	}
	code, out, errs := runVerifyCmd(t, "log", s.URL()+"/ledger/", "--log-key", key, "--token", secret["auditor"])
	if code != 0 {
		t.Fatalf("verify log --token: exit %d\n%s\n%s", code, out, errs)
	}
	t.Setenv("SHUIXIAO_TOKEN", secret["auditor"])
	if code, out, errs := runVerifyCmd(t, "log", s.URL()+"/ledger/", "--log-key", key); code != 0 {
		t.Fatalf("verify log with SHUIXIAO_TOKEN: exit %d\n%s\n%s", code, out, errs)
	}
}
