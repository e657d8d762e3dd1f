// Package pgtest gives tests a PostgreSQL database: the server at
// $SHUIXIAO_TEST_POSTGRES, or the local one the development and CI
// machines run (127.0.0.1:5432, database test). Without a reachable server
// a test is skipped on a laptop and fails in CI (CI or
// SHUIXIAO_REQUIRE_SERVICES=1 set), so CI never passes by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns the test database's URL, after checking that the server
// answers (else skip or fail, as the package doc says).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SHUIXIAO_TEST_POSTGRES")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err == nil {
		c.Close(ctx)
		return u
	}
	if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
		t.Fatalf("PostgreSQL at %s is required here: %v", u, err)
	}
	t.Skipf("PostgreSQL tests skipped: no server at %s (%v); set SHUIXIAO_TEST_POSTGRES to a database URL to run them", u, err)
	return ""
}

// Schema returns the URL and a fresh schema name, dropped with everything in
// it when the test ends.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	url = URL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = "t_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			c.Close(ctx)
		}
	})
	return url, schema
}
