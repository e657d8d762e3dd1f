package postgres

import (
	"context"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/storetest"
)

// openTemp opens a store in a fresh schema.
func openTemp(t testing.TB) *Store {
	t.Helper()
	url, schema := pgtest.Schema(t)
	s, err := Open(context.Background(), url, Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var _ store.Store = (*Store)(nil)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}
