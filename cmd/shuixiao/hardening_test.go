package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log sink the server's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRevokedAdminTokenStarts is finding 4 of issue 13: revoking the data
// directory's admin token through the API made every later start fail
// ("create token …: already exists"). The server now starts, says so in
// one log line, and removing admin.token mints a new admin token.
func TestRevokedAdminTokenStarts(t *testing.T) {
	dir := t.TempDir()
	open := func(log *syncBuffer) *server {
		t.Helper()
		s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(log, nil))})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		return s
	}
	s := open(&syncBuffer{})
	first := s.token
	var me struct{ ID string }
	must(t, s.client(first).get("/api/v1/me", &me))
	must(t, s.client(first).post("/api/v1/tokens/"+me.ID+"/revoke", nil, nil))
	s.Close(context.Background())

	var log syncBuffer
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
	s = open(&syncBuffer{})
	defer s.Close(context.Background())
	if s.token == "" || s.token == first {
		t.Fatalf("new admin token %q", s.token)
	}
	must(t, s.client(s.token).get("/api/v1/me", &me))
	if code, _ := s.client(first).do("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Errorf("the revoked admin token answers %d after a new one was minted", code)
	}
}
