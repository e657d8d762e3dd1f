package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/tessera"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// BenchmarkTesseraDrivers appends the same signed readings to Tessera's
// POSIX driver (what the ledger uses) and to its MySQL driver (on the
// MariaDB at $SHUIXIAO_TEST_MYSQL, default root@127.0.0.1:3306, a database
// of its own dropped afterwards), with the ledger's batching (up to 4096
// entries a flush, 2 ms) and synced writes on both (POSIX: fsync per
// flush; InnoDB: innodb_flush_log_at_trx_commit=1 is checked). Producers
// (8 adding batches of 64 entries, or 4 adding batches of 1024) wait until
// each batch is sequenced; one op is one batch. It reports entries/s and
// the p50/p99 time to sequence a batch. The drivers run one after the
// other in one process, for a ratio under the same load:
//
//	go test ./internal/ledger -run '^$' -bench TesseraDrivers -benchtime 100x
func BenchmarkTesseraDrivers(b *testing.B) {
	// Small batches (a lightly loaded sequencer) and large ones (the
	// pipeline's batches under load: up to 4096 readings an append).
	for _, shape := range []struct{ producers, perBatch int }{{8, 64}, {4, 1024}} {
		name := fmt.Sprintf("%dx%d", shape.producers, shape.perBatch)
		b.Run("posix/"+name, func(b *testing.B) {
			d, err := posix.New(context.Background(), posix.Config{Path: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			benchDriver(b, d, shape.producers, shape.perBatch)
		})
		b.Run("mysql/"+name, func(b *testing.B) {
			benchDriver(b, mysqlDriver(b), shape.producers, shape.perBatch)
		})
	}
}

// mysqlDriver opens Tessera's MySQL driver on a fresh database.
func mysqlDriver(b *testing.B) tessera.Driver {
	dsn := os.Getenv("SHUIXIAO_TEST_MYSQL")
	if dsn == "" {
		dsn = "root@tcp(127.0.0.1:3306)/"
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
			b.Fatalf("MySQL/MariaDB at %s is required here: %v", dsn, err)
		}
		b.Skipf("MySQL driver skipped: no server at %s (%v); set SHUIXIAO_TEST_MYSQL to a DSN", dsn, err)
	}
	b.Cleanup(func() { admin.Close() })
	var flush int
	if err := admin.QueryRow(`SELECT @@innodb_flush_log_at_trx_commit`).Scan(&flush); err != nil || flush != 1 {
		b.Fatalf("innodb_flush_log_at_trx_commit = %d (%v): the comparison needs commits synced, as the POSIX driver syncs", flush, err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	db := "tessera_bench_" + hex.EncodeToString(buf)
	if _, err := admin.Exec("CREATE DATABASE " + db); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE " + db) })
	cfg.DBName, cfg.MultiStatements = db, true
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	schema, err := os.ReadFile("testdata/tessera-mysql-schema.sql")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(string(schema)); err != nil {
		b.Fatalf("tessera schema: %v", err)
	}
	d, err := tmysql.New(context.Background(), conn)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchDriver(b *testing.B, d tessera.Driver, producers, perBatch int) {
	skey, _, err := note.GenerateKey(rand.Reader, "bench.shuixiao/drivers")
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := tessera.NewAppendOptions().WithCheckpointSigner(signer).WithCheckpointInterval(time.Second).
		WithBatching(4096, 2*time.Millisecond)
	app, shutdown, _, err := tessera.NewAppender(ctx, d, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	entries := benchEntries(b, 4096)
	var lat latencies
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				t0 := time.Now()
				fs := make([]tessera.IndexFuture, perBatch)
				for j := range fs {
					fs[j] = app.Add(ctx, tessera.NewEntry(entries[(i*perBatch+j)%len(entries)]))
				}
				for _, f := range fs {
					if _, err := f(); err != nil {
						b.Error(err)
						return
					}
				}
				d := time.Since(t0)
				lat.mu.Lock()
				lat.all = append(lat.all, d)
				lat.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat.all) > 0 {
		latencyReport(b, lat.all, len(lat.all)*perBatch, elapsed)
	}
}
