package sqlite

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
	"github.com/shuixiao/shuixiao/internal/store/storetest"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

var cst = time.FixedZone("CST", 8*3600)

func openTemp(t testing.TB, opt Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestConformance runs the suite; its pre-totals part reads them also with
// every query reading month totals in one range (as a province roll-up
// does), on the same data.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t, Options{ManualCompaction: true, Location: cst})
		return s
	}, storetest.TotalsWay{Name: "months in one range", Wrap: func(s store.Store) interface {
		periodvol.Source
		store.TotalsReader
	} {
		return bulkTotals{s.(*Store)}
	}})
}

// bulkTotals reads the month totals of any number of series in one range.
type bulkTotals struct{ *Store }

func (b bulkTotals) ConsumptionTotals(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	return b.consumptionTotals(ctx, q, 1)
}

// setup registers one enterprise with n meters M0000… on points P0000…,
// each with a totaliser and a flow channel.
func setup(t testing.TB, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430300", Industry: "3120"}))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("M%04d", i)
		pt := fmt.Sprintf("P%04d", i)
		check(s.CreatePoint(ctx, meter.Point{ID: pt, Enterprise: "E", Name: pt, Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{
			{Name: "total_m3", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9},
			{Name: "flow_m3h", Unit: "m3/h", Kind: meter.Rate, Max: 1e4},
			{Name: "pressure_mpa", Unit: "MPa", Kind: meter.Rate, Max: 10},
			{Name: "ph", Unit: "[pH]", Kind: meter.Rate, Max: 14},
			{Name: "cond_us_cm", Unit: "uS/cm", Kind: meter.Rate, Max: 1e5},
		}}))
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(ids[i]))
		check(err)
		check(s.CreateMeter(ctx, meter.Meter{ID: ids[i], Point: pt, Key: vkey, Signed: meter.SignedByMeter, Registered: time.Unix(0, 0), Interval: time.Minute}))
	}
	return ids
}

// reading makes the k-th one-minute reading of a meter from start, with five
// channels; the totaliser grows by a pseudo-random amount.
func mkReading(m string, k int, start time.Time, index uint64) store.Reading {
	h := sha256.Sum256([]byte(fmt.Sprint(m, k)))
	wiggle := float64(binary.LittleEndian.Uint16(h[:])) / 65536
	r := store.Reading{
		Meter: m, Seq: uint64(k + 1), Time: start.Add(time.Duration(k) * time.Minute), Index: index, Hash: h,
		Values: []store.Value{
			{Channel: "total_m3", Value: math.Round((1000+float64(k)*0.5+wiggle)*1000) / 1000},
			{Channel: "flow_m3h", Value: math.Round((30+10*wiggle)*100) / 100},
			{Channel: "pressure_mpa", Value: math.Round((0.3+0.05*wiggle)*1000) / 1000},
			{Channel: "ph", Value: math.Round((7+wiggle)*100) / 100},
			{Channel: "cond_us_cm", Value: math.Round(800 + 100*wiggle)},
		},
	}
	r.Received = r.Time.Add(200 * time.Millisecond)
	return r
}

func countAll(t testing.TB, s store.Store, ids []string) int {
	t.Helper()
	n := 0
	for _, m := range ids {
		seen := map[uint64]bool{}
		err := s.ScanReadings(context.Background(), store.ReadingQuery{Meter: m}, func(r *store.Reading) error {
			if seen[r.Seq] {
				return fmt.Errorf("%s seq %d twice", m, r.Seq)
			}
			seen[r.Seq] = true
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestReopen: the head, the states and the ledger size survive a restart,
// as do compacted data; the head left by a compaction that crashed before
// deleting it is neither lost nor counted twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{ManualCompaction: true})
	ids := setup(t, s, 3)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	var idx uint64
	commit := func(s *Store, from, to int) {
		var b store.Batch
		for k := from; k < to; k++ {
			for _, m := range ids {
				idx++
				b.Readings = append(b.Readings, mkReading(m, k, start, idx))
			}
		}
		b.LedgerSize = idx + 1
		if err := s.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	commit(s, 0, 100)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	commit(s, 100, 150) // stays in the head
	// Simulate a compaction that wrote its chunks but crashed before
	// deleting the head rows: put compacted rows back where they were.
	var copied int
	for _, id := range ids {
		for k := 0; k < 10; k++ {
			r := mkReading(id, k, start, 0)
			rec := chunk.Record{Seq: r.Seq, T: r.Time.UnixMilli(), Recv: r.Received.UnixMilli(), Hash: r.Hash}
			for _, v := range r.Values {
				rec.Values = append(rec.Values, chunk.Value{Channel: s.chanID[v.Channel], V: v.Value})
			}
			copied++
			if _, err := s.w.Exec(`INSERT INTO hot(rid, meter, rec) VALUES (?, ?, ?)`, copied, s.meters[id].mid, encodeHot(nil, &rec)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(s *Store, n int) {
		t.Helper()
		if got := countAll(t, s, ids); got != n {
			t.Fatalf("%d readings, want %d", got, n)
		}
		st, err := s.AdmissionStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 3 || st[0].Seq != uint64(n/3) {
			t.Fatalf("states %+v", st)
		}
		if sz, _ := s.LedgerSize(ctx); sz != idx+1 {
			t.Fatalf("ledger size %d, want %d", sz, idx+1)
		}
	}
	want(s, 450)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	want(s2, 450)
	daily := func(s *Store) float64 {
		res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: []store.Series{{Meter: ids[1], Channel: "total_m3"}}, From: start, To: start.AddDate(0, 0, 1), Interval: store.Day})
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Buckets[0].Value
	}
	before := daily(s2)
	lastR, firstR := mkReading(ids[1], 149, start, 0), mkReading(ids[1], 0, start, 0)
	last, _ := lastR.Value("total_m3")
	first, _ := firstR.Value("total_m3")
	if math.Abs(before-(last-first)) > 1e-9 {
		t.Fatalf("day's consumption %v, want %v", before, last-first)
	}
	commit(s2, 150, 160)
	if err := s2.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	want(s2, 480)
	var chunks int
	if err := s2.r.QueryRow(`SELECT sum(n) FROM chunks`).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if chunks != 480 {
		t.Fatalf("chunks hold %d readings, want 480 (compacted rows compacted twice?)", chunks)
	}
	if s2.Stats().HeadReadings != 0 {
		t.Fatalf("head not empty after compaction: %+v", s2.Stats())
	}
}

// TestConcurrentCompaction commits, queries and compacts at once (run it
// with -race): every committed reading is seen exactly once throughout.
func TestConcurrentCompaction(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Options{CompactRows: 300, CompactAge: 50 * time.Millisecond})
	ids := setup(t, s, 20)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	const minutes = 120
	var (
		mu        sync.Mutex
		committed int
		done      = make(chan struct{})
		errs      = make(chan error, 4)
	)
	go func() {
		defer close(done)
		var idx uint64
		for k := 0; k < minutes; k++ {
			var b store.Batch
			for _, m := range ids {
				idx++
				b.Readings = append(b.Readings, mkReading(m, k, start, idx))
			}
			if err := s.Commit(ctx, &b); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			committed += len(b.Readings)
			mu.Unlock()
		}
	}()
	for q := 0; ; q++ {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-done:
		default:
			mu.Lock()
			floor := committed
			mu.Unlock()
			if got := countAll(t, s, ids[:1]) * len(ids); got < floor-len(ids) {
				t.Fatalf("query %d saw %d readings of %d committed", q, got, floor)
			}
			res, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Meter: ids[3], Channel: "flow_m3h"}, From: start, To: start.Add(minutes * time.Minute), Interval: store.Hour, Fn: store.Avg})
			if err != nil {
				t.Fatal(err)
			}
			if n := res[0].N + res[1].N; n > minutes {
				t.Fatalf("query %d counted %d readings in 2 h of one-minute data", q, n)
			}
			continue
		}
		break
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countAll(t, s, ids); got != minutes*len(ids) {
		t.Fatalf("%d readings, want %d", got, minutes*len(ids))
	}
	if st := s.Stats(); st.Compactions < 2 || st.CompactionError != "" {
		t.Fatalf("background compaction did not run cleanly: %+v", st)
	}
	res, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Meter: ids[3], Channel: "flow_m3h"}, From: start, To: start.Add(minutes * time.Minute), Interval: store.Hour, Fn: store.Avg})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].N != 60 || res[1].N != 60 {
		t.Fatalf("hourly counts %d, %d; want 60, 60", res[0].N, res[1].N)
	}
}

// TestKill9 kills a committing process with SIGKILL and checks that every
// batch whose Commit returned is in the store after reopening, with both
// sync levels.
func TestKill9(t *testing.T) {
	if os.Getenv("STORE_KILL9_DB") != "" {
		kill9Child()
		return
	}
	for _, sync := range []Sync{SyncNormal, SyncFull} {
		path := filepath.Join(t.TempDir(), "store.db")
		s, err := Open(path, Options{ManualCompaction: true})
		if err != nil {
			t.Fatal(err)
		}
		ids := setup(t, s, 10)
		s.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
		cmd.Env = append(os.Environ(), "STORE_KILL9_DB="+path, fmt.Sprint("STORE_KILL9_SYNC=", int(sync)))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
				acked, _ = strconv.Atoi(n)
				if acked >= 3000 {
					break
				}
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if acked < 3000 {
			t.Fatalf("child acknowledged only %d readings", acked)
		}
		s, err = Open(path, Options{ManualCompaction: true})
		if err != nil {
			t.Fatal(err)
		}
		got := countAll(t, s, ids)
		s.Close()
		if got < acked {
			t.Fatalf("sync %d: %d readings after kill -9, %d were acknowledged", sync, got, acked)
		}
		t.Logf("sync %d: %d acknowledged, %d stored after kill -9", sync, acked, got)
	}
}

// kill9Child commits batches of 100 and prints the running total after each
// Commit returns, compacting now and then, until it is killed.
func kill9Child() {
	sync, _ := strconv.Atoi(os.Getenv("STORE_KILL9_SYNC"))
	s, err := Open(os.Getenv("STORE_KILL9_DB"), Options{Sync: Sync(sync), CompactRows: 1000})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	var idx uint64
	for k := 0; ; k++ {
		var b store.Batch
		for j := 0; j < 10; j++ {
			for i := 0; i < 10; i++ {
				idx++
				b.Readings = append(b.Readings, mkReading(fmt.Sprintf("M%04d", i), 10*k+j, start, idx))
			}
		}
		if err := s.Commit(context.Background(), &b); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", idx)
	}
}

// TestBehind: when compaction cannot keep up, commits wait for it instead
// of growing the in-memory head without bound, give up with ErrBehind when
// their context ends, and go through once compaction has caught up.
func TestBehind(t *testing.T) {
	s, _ := openTemp(t, Options{CompactRows: 10, CompactAge: time.Hour})
	ids := setup(t, s, 1)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	commit := func(ctx context.Context, from, to int) error {
		var b store.Batch
		for k := from; k < to; k++ {
			b.Readings = append(b.Readings, mkReading(ids[0], k, start, uint64(k)))
		}
		return s.Commit(ctx, &b)
	}
	s.compactMu.Lock()                                          // compaction stalls
	if err := commit(context.Background(), 0, 41); err != nil { // just over 4 × CompactRows
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := commit(ctx, 41, 50); !errors.Is(err, ErrBehind) {
		t.Fatalf("commit with %d head readings: %v, want ErrBehind", s.Stats().HeadReadings, err)
	}
	s.compactMu.Unlock()
	if err := commit(context.Background(), 41, 50); err != nil {
		t.Fatal(err)
	}
	if n := countAll(t, s, ids); n != 50 {
		t.Fatalf("%d readings, want 50", n)
	}
}

func TestCompactionPacing(t *testing.T) {
	s, _ := openTemp(t, Options{CompactRows: 10, ManualCompaction: true})
	setHead := func(rows int) {
		s.head.mu.Lock()
		s.head.rows = rows
		s.head.mu.Unlock()
	}
	stepCtx := func(ctx context.Context, on bool, work time.Duration) time.Duration {
		p := &pacer{s: s, on: on, since: time.Now().Add(-work)}
		t0 := time.Now()
		p.step(ctx)
		return time.Since(t0)
	}
	step := func(on bool) time.Duration { return stepCtx(context.Background(), on, 20*time.Millisecond) } // 20 ms of work done
	setHead(5)
	if d := step(true); d < 40*time.Millisecond {
		t.Errorf("background compaction with a small head rested %v after 20 ms of work, want ≥ 40 ms", d)
	}
	if d := step(false); d >= 40*time.Millisecond {
		t.Errorf("Compact (unpaced) rested %v", d)
	}
	// Closing the store ends a rest at once (a long piece of work would
	// otherwise hold Close for twice its length).
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if d := stepCtx(ctx, true, time.Second); d >= time.Second {
		t.Errorf("a rest after 1 s of work outlived its cancellation: %v", d)
	}
	setHead(25) // past 2 × CompactRows: catch up at full speed
	if d := step(true); d >= 40*time.Millisecond {
		t.Errorf("compaction of a head past twice its mark rested %v", d)
	}
	setHead(0)
}

// TestConsumptionTotalsBulkOrder asks for month totals in one range with
// the series out of order and one of them twice: each gets what it gets
// series by series.
func TestConsumptionTotalsBulkOrder(t *testing.T) {
	s, _ := openTemp(t, Options{ManualCompaction: true, Location: cst})
	ctx := context.Background()
	ids := setup(t, s, 4)
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
	var batch []store.Reading
	idx := uint64(0)
	for i, m := range ids {
		for k := 0; k <= 33*4; k++ { // every six hours, September 30 to November 2
			at := from.Add(-24*time.Hour + time.Duration(k)*6*time.Hour)
			r := store.Reading{Meter: m, Seq: uint64(k + 1), Time: at, Received: at, Index: idx,
				Values: []store.Value{{Channel: "total_m3", Value: float64(100*i) + 1.25*float64(k)}}}
			binary.BigEndian.PutUint64(r.Hash[:8], idx+1)
			batch = append(batch, r)
			idx++
		}
	}
	if err := s.Commit(ctx, &store.Batch{Readings: batch, LedgerSize: idx}); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	var series []store.Series
	for _, p := range []string{"P0002", "P0000", "P0003", "P0000", "P0001"} {
		series = append(series, store.Series{Point: p, Channel: "total_m3"})
	}
	q := store.ConsumptionQuery{Series: series, From: from, To: from.AddDate(0, 1, 0), Interval: store.Hour, Location: cst}
	want, err := s.consumptionTotals(ctx, q, len(series)+1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.consumptionTotals(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range series {
		if len(want[i].Totals) != 1 || want[i].Totals[0].Intervals != 31*24 {
			t.Fatalf("%s: %d totals, want October's", series[i].Point, len(want[i].Totals))
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: in one range %+v, by key %+v", series[i].Point, got[i], want[i])
		}
	}
}

// TestPointsSplit lists every point in two halves of the key read at once:
// the same list, in the same order, as in one query.
func TestPointsSplit(t *testing.T) {
	defer func(n int) { splitPoints = n }(splitPoints)
	s, _ := openTemp(t, Options{ManualCompaction: true, Location: cst})
	ctx := context.Background()
	setup(t, s, 7)
	if err := s.loadPoints(ctx); err != nil {
		t.Fatal(err)
	}
	splitPoints = 1 << 30
	want, err := s.Points(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	splitPoints = 2
	got, err := s.Points(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 7 || !reflect.DeepEqual(got, want) {
		t.Errorf("in two halves %v, in one query %v", got, want)
	}
}
