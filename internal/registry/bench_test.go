package registry

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// benchRegistryStore is what a bulk registration needs of either driver.
type benchRegistryStore interface {
	store.Store
	store.BulkRegistry
	store.DeviceSecrets
}

// BenchmarkRegisterManyPasswords registers one full batch (MaxBatch
// meters, each with an MQTT password) into a fresh store, ledger and key
// directory per iteration; cpu-ms/op is this process's CPU time (user +
// system) over the registration alone.
func BenchmarkRegisterManyPasswords(b *testing.B) {
	ctx := context.Background()
	b.Run("sqlite", func(b *testing.B) {
		benchRegisterMany(b, func(b *testing.B) benchRegistryStore {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "store.db"), sqlite.Options{ManualCompaction: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
	b.Run("postgres", func(b *testing.B) {
		benchRegisterMany(b, func(b *testing.B) benchRegistryStore {
			url, schema := pgtest.Schema(b)
			st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, ManualRollups: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
}

func benchRegisterMany(b *testing.B, open func(b *testing.B) benchRegistryStore) {
	ctx := context.Background()
	n := MaxBatch
	keys := make([]string, n)
	for i := range keys {
		_, keys[i], _ = note.GenerateKey(rand.Reader, reading.KeyName(fmt.Sprintf("RM%05d", i)))
	}
	ch, _ := meter.StandardChannel("total_m3")
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		st := open(b)
		dir := b.TempDir()
		lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Origin: "test.example/bench"})
		if err != nil {
			b.Fatal(err)
		}
		kd := ingest.NewDirectory()
		p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: kd})
		if err != nil {
			b.Fatal(err)
		}
		pts := make([]meter.Point, n)
		reqs := make([]Registration, n)
		for i := range pts {
			pts[i] = meter.Point{ID: fmt.Sprintf("RP%05d", i), Enterprise: "EN", Name: "分表", Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{ch}}
			reqs[i] = Registration{ID: fmt.Sprintf("RM%05d", i), Point: pts[i].ID, Key: keys[i], MQTTPassword: fmt.Sprintf("password-of-RM%05d", i)}
		}
		for _, err := range []error{
			st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
			st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
			st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}),
			st.CreatePoints(ctx, pts),
		} {
			if err != nil {
				b.Fatal(err)
			}
		}
		ms := &Meters{Store: st, Ledger: lg, Ingest: p, Devices: devicecred.New(st, kd), Now: time.Now}
		c0 := cpuTime()
		b.StartTimer()
		out, err := ms.RegisterMany(ctx, reqs, p)
		b.StopTimer()
		cpu += cpuTime() - c0
		if err != nil || len(out) != n || !out[n-1].Created {
			b.Fatalf("registered %d: %v", len(out), err)
		}
		if rec, err := st.DeviceSecret(ctx, reqs[n-1].ID); err != nil || !devicecred.SecretMatches(rec, reqs[n-1].ID, []byte(reqs[n-1].MQTTPassword)) {
			b.Fatalf("password of %s: %q %v", reqs[n-1].ID, rec, err)
		}
		p.Close()
		lg.Close(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
