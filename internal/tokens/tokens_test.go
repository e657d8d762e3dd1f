package tokens

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

func newService(t *testing.T) (*Service, *sqlite.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreatePark(ctx, meter.Park{ID: "PK1", Name: "园区", Region: "430000"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E1", Name: "企业", Region: "430000", Park: "PK1", Industry: "3120"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	return &Service{Store: st, Now: func() time.Time { return now }}, st, now
}

// TestCreate checks issuing: a token stamped now and stored under the hash
// of the secret it returns; refusals (invalid token, a scope that does not
// exist) store nothing.
func TestCreate(t *testing.T) {
	svc, st, now := newService(t)
	ctx := context.Background()
	tok, secret, err := svc.Create(ctx, Request{ID: "ops", Name: "运维", Role: store.RoleEnterprise, Scope: "E1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "sx_") || tok.ID != "ops" || !tok.Created.Equal(now) || tok.Scope != "E1" {
		t.Fatalf("token %+v, secret %q", tok, secret)
	}
	got, err := st.TokenByHash(ctx, store.HashToken(secret))
	if err != nil || got.ID != "ops" || got.Role != store.RoleEnterprise {
		t.Fatalf("stored %+v, %v", got, err)
	}
	// An empty ID gets a random one; a park scope that exists is taken.
	tok, _, err = svc.Create(ctx, Request{Role: store.RolePark, Scope: "PK1"})
	if err != nil || !strings.HasPrefix(tok.ID, "tok-") || len(tok.ID) != 12 {
		t.Fatalf("generated id %q, %v", tok.ID, err)
	}
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{ID: "x1", Role: store.RoleEnterprise, Scope: "E9"}, `scope "E9": no such enterprise`},
		{Request{ID: "x2", Role: store.RolePark, Scope: "PK9"}, `scope "PK9": no such park`},
		{Request{ID: "x3", Role: "owner"}, `token x3: invalid: role "owner"`},
		{Request{ID: "x4", Role: store.RoleAdmin, Scope: "E1"}, "token x4: invalid: an admin token has no scope"},
		{Request{ID: "bad id", Role: store.RoleAdmin}, `id "bad id" must be`},
	} {
		_, secret, err := svc.Create(ctx, tc.req)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || secret != "" {
			t.Errorf("%+v: %v, want %q (store.ErrInvalid)", tc.req, err, tc.want)
		}
	}
	ts, err := svc.List(ctx)
	if err != nil || len(ts) != 2 {
		t.Fatalf("refused tokens stored: %+v, %v", ts, err)
	}
	if _, _, err := svc.Create(ctx, Request{ID: "ops", Role: store.RoleAuditor}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("an ID in use: %v", err)
	}
}

// TestRevoke checks that a revoked token no longer authenticates, that it
// is stamped now, and that an unknown ID is not found.
func TestRevoke(t *testing.T) {
	svc, st, now := newService(t)
	ctx := context.Background()
	_, secret, err := svc.Create(ctx, Request{ID: "aud", Role: store.RoleAuditor})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Revoke(ctx, "aud"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TokenByHash(ctx, store.HashToken(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked token still authenticates: %v", err)
	}
	ts, _ := svc.List(ctx)
	if len(ts) != 1 || !ts[0].Revoked.Equal(now) {
		t.Fatalf("tokens %+v", ts)
	}
	if err := svc.Revoke(ctx, "aud"); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if err := svc.Revoke(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}
