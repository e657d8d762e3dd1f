package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
)

// Backup writes a consistent copy of the database at path to dst, which
// must not exist, while a server in this or another process goes on
// writing: VACUUM INTO reads one snapshot of the database (in WAL mode a
// reader does not hold up the writer, and the store's checkpoints are
// PASSIVE, so they do not wait for the reader either) and writes it as a
// compact standalone file. It returns the copy's LedgerSize: every ledger
// entry below it has its effects in the copy.
func Backup(ctx context.Context, path, dst string) (ledgerSize uint64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("store backup: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return 0, fmt.Errorf("store backup: %s exists", dst)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("store backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return 0, fmt.Errorf("store backup of %s: %w", path, err)
	}
	cp, err := sql.Open("sqlite", "file:"+(&url.URL{Path: dst}).EscapedPath()+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("store backup: %w", err)
	}
	defer cp.Close()
	var check string
	if err := cp.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		return 0, fmt.Errorf("store backup: the copy fails its check: %q %v", check, err)
	}
	var size int64
	if err := cp.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'ledger_size'`).Scan(&size); err != nil {
		return 0, fmt.Errorf("store backup: ledger size of the copy: %w", err)
	}
	return uint64(size), nil
}
