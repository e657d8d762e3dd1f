package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
)

// serverStore is what a server needs of its store: store.Store, the
// records of pipe networks, control loops and device credentials, and
// compaction on demand. Both drivers implement it and pass
// store/storetest.
type serverStore interface {
	store.Store
	store.Networks
	store.Controls
	store.DeviceSecrets
	store.Compacter
	// water-rights certificates (helper certs)
	store.Certificates
}

// openStore opens the store --store names: empty for SQLite in the data
// directory (the default), or a PostgreSQL URL
// postgres://USER@HOST:PORT/DB[?schema=NAME&…] (schema default "shuixiao";
// other parameters go to the driver).
func openStore(ctx context.Context, spec, dataDir string, log *slog.Logger) (serverStore, string, error) {
	switch {
	case spec == "" || spec == "sqlite":
		path := filepath.Join(dataDir, "store.db")
		st, err := sqlite.Open(path, sqlite.Options{Logf: func(f string, a ...any) { log.Error(fmt.Sprintf(f, a...)) }})
		return st, "sqlite " + path, err
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		u, err := url.Parse(spec)
		if err != nil {
			return nil, "", fmt.Errorf("--store: %w", err)
		}
		q := u.Query()
		schema := q.Get("schema")
		q.Del("schema")
		u.RawQuery = q.Encode()
		st, err := postgres.Open(ctx, u.String(), postgres.Options{Schema: schema})
		if u.User != nil {
			u.User = url.User(u.User.Username()) // no password in logs
		}
		return st, "postgres " + u.Redacted(), err
	}
	return nil, "", fmt.Errorf("--store %q: want a PostgreSQL URL postgres://USER@HOST:PORT/DB, or nothing for SQLite in the data directory / 存储应为 PostgreSQL 地址或留空（SQLite）", spec)
}
