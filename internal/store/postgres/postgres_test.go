package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/storetest"
)

// testURL is the database the tests use: $SHUIXIAO_TEST_POSTGRES, or the
// local server the development and CI machines run.
func testURL() string {
	if u := os.Getenv("SHUIXIAO_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// requireServer skips (on a laptop without PostgreSQL) or fails (in CI, or
// with SHUIXIAO_REQUIRE_SERVICES=1) when the server cannot be reached.
func requireServer(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testURL())
	if err == nil {
		c.Close(ctx)
		return
	}
	if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
		t.Fatalf("PostgreSQL at %s is required here: %v", testURL(), err)
	}
	t.Skipf("PostgreSQL tests skipped: no server at %s (%v); set SHUIXIAO_TEST_POSTGRES to a database URL to run them", testURL(), err)
}

// openTemp opens a store in a fresh schema, dropped when the test ends.
func openTemp(t testing.TB) *Store {
	t.Helper()
	requireServer(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	s, err := Open(ctx, testURL(), Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if c, err := pgx.Connect(ctx, testURL()); err == nil {
			c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			c.Close(ctx)
		}
	})
	return s
}

var _ store.Store = (*Store)(nil)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}
