package alarmwatch

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// addMeters registers n meters, each on its own level-3 point of
// enterprise e, registered at reg with a one-minute interval, and returns
// their IDs in order.
func addMeters(tb testing.TB, st store.BulkRegistry, e string, n int, reg time.Time) []string {
	tb.Helper()
	ctx := context.Background()
	total, _ := meter.StandardChannel("total_m3")
	// One key pair under every meter's name: one each would cost more
	// than the test.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	var pts []meter.Point
	var ms []meter.Meter
	var ids []string
	for i := range n {
		p := fmt.Sprintf("%s-P%06d", e, i)
		pts = append(pts, meter.Point{ID: p, Enterprise: e, Name: p, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total}})
		id := fmt.Sprintf("M-%s-%06d", e, i)
		vkey, err := note.NewEd25519VerifierKey(reading.KeyName(id), pub)
		if err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, meter.Meter{ID: id, Point: p, Key: vkey, Signed: meter.SignedByMeter, Registered: reg, Interval: time.Minute})
		ids = append(ids, id)
	}
	if err := st.CreatePoints(ctx, pts); err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateMeters(ctx, ms, nil); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// countingStore counts the monitor's calls to the store.
type countingStore struct {
	*sqlite.Store
	mu                                                      sync.Mutex
	raise, raises, raised, clear, clears, meter, point, all int
}

func (s *countingStore) count(n *int, d int) { s.mu.Lock(); *n += d; s.mu.Unlock() }

func (s *countingStore) reset() {
	s.mu.Lock()
	s.raise, s.raises, s.raised, s.clear, s.clears, s.meter, s.point, s.all = 0, 0, 0, 0, 0, 0, 0, 0
	s.mu.Unlock()
}

func (s *countingStore) RaiseAlarm(ctx context.Context, a alarm.Alarm) (alarm.Alarm, bool, error) {
	s.count(&s.raise, 1)
	return s.Store.RaiseAlarm(ctx, a)
}

func (s *countingStore) RaiseAlarms(ctx context.Context, as []alarm.Alarm) ([]store.RaisedAlarm, error) {
	s.count(&s.raises, 1)
	s.count(&s.raised, len(as))
	return s.Store.RaiseAlarms(ctx, as)
}

func (s *countingStore) ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error) {
	s.count(&s.clear, 1)
	return s.Store.ClearAlarm(ctx, id, by, at, note)
}

func (s *countingStore) ClearAlarms(ctx context.Context, ids []int64, by string, at time.Time, note string) ([]store.ClearedAlarm, error) {
	s.count(&s.clears, 1)
	return s.Store.ClearAlarms(ctx, ids, by, at, note)
}

func (s *countingStore) Meter(ctx context.Context, id string) (meter.Meter, error) {
	s.count(&s.meter, 1)
	return s.Store.Meter(ctx, id)
}

func (s *countingStore) Point(ctx context.Context, id string) (meter.Point, error) {
	s.count(&s.point, 1)
	return s.Store.Point(ctx, id)
}

func (s *countingStore) Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error) {
	s.count(&s.all, 1)
	return s.Store.Meters(ctx, f)
}

// An outage silencing 2,100 meters raises their offline alarms in three
// store transactions, their subjects read with one read of the registry,
// each alarm told in the order of the meters; when half come back, their
// alarms clear and the others repeat, three transactions each way.
func TestOfflineRoundInBatches(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	ids := addMeters(t, st, "E", 2100, clk.now().Add(-time.Hour))
	cs := &countingStore{Store: st}
	var told []alarm.Alarm
	m := New(Options{Store: cs, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Repeat: time.Hour,
		Notify: func(a alarm.Alarm) { told = append(told, a) }})
	ms, err := st.Meters(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()}
	m.checkOffline(ctx, latest, ms)
	if cs.raise != 0 || cs.raises != 3 || cs.raised != 2100 || cs.meter != 0 || cs.point != 0 || cs.all != 1 {
		t.Errorf("silent round: RaiseAlarm %d, RaiseAlarms %d of %d alarms, Meter %d, Point %d, Meters %d; want 0, 3 of 2100, 0, 0, 1",
			cs.raise, cs.raises, cs.raised, cs.meter, cs.point, cs.all)
	}
	if len(told) != len(ids) {
		t.Fatalf("%d alarms told, want %d", len(told), len(ids))
	}
	for i, a := range told {
		if a.Meter != ids[i] || a.Kind != KindOffline || a.Enterprise != "E" || a.Point != fmt.Sprintf("E-P%06d", i) || a.Count != 1 || m.offline[a.Meter].id != a.ID {
			t.Fatalf("alarm %d told: %+v (kept %+v)", i, a, m.offline[a.Meter])
		}
	}

	// Half come back; an hour on, the others' alarms repeat.
	clk.add(time.Hour)
	for i, id := range ids {
		if i%2 == 0 {
			latest[id] = clk.now()
		}
	}
	latest["M-IN"], latest["M-U"] = clk.now(), clk.now()
	cs.reset()
	told = nil
	m.checkOffline(ctx, latest, ms)
	if cs.raise != 0 || cs.clear != 0 || cs.raises != 3 || cs.clears != 3 || cs.raised != 1050 || cs.meter != 0 || cs.point != 0 || cs.all != 0 {
		t.Errorf("round of return: RaiseAlarm %d, ClearAlarm %d, RaiseAlarms %d of %d, ClearAlarms %d, Meter %d, Point %d, Meters %d; want 0, 0, 3 of 1050, 3, 0, 0, 0",
			cs.raise, cs.clear, cs.raises, cs.raised, cs.clears, cs.meter, cs.point, cs.all)
	}
	if len(told) != len(ids) {
		t.Fatalf("%d alarms told, want %d", len(told), len(ids))
	}
	for i, a := range told {
		back := i%2 == 0
		_, open := m.offline[a.Meter]
		if a.Meter != ids[i] || back != (a.State == alarm.Cleared) || !back && a.Count != 2 || open == back {
			t.Fatalf("alarm %d told: %+v (open %v)", i, a, open)
		}
	}
	open, err := st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1050 {
		t.Errorf("%d offline alarms open, want 1050", len(open))
	}
}

// failingAlarms is a store whose next RaiseAlarms fails while raise is
// set.
type failingAlarms struct {
	*sqlite.Store
	raise *bool
}

func (s failingAlarms) RaiseAlarms(ctx context.Context, as []alarm.Alarm) ([]store.RaisedAlarm, error) {
	if *s.raise {
		*s.raise = false
		return nil, errors.New("database is busy")
	}
	return s.Store.RaiseAlarms(ctx, as)
}

// A batch the store refuses is raised again at the next round; an alarm
// an operator cleared meanwhile is skipped when its meter comes back, the
// others of its batch cleared and told.
func TestOfflineBatchRefusedOrSkipped(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	ids := addMeters(t, st, "E", 30, clk.now().Add(-time.Hour))
	var failRaise bool
	var told []alarm.Alarm
	m := New(Options{Store: failingAlarms{Store: st, raise: &failRaise}, Now: clk.now, Logger: slog.New(slog.DiscardHandler),
		Notify: func(a alarm.Alarm) { told = append(told, a) }})
	ms, err := st.Meters(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()}
	failRaise = true
	m.checkOffline(ctx, latest, ms)
	if len(told) != 0 || len(m.offline) != 0 {
		t.Fatalf("a refused batch: %d alarms told, %d noted open", len(told), len(m.offline))
	}
	clk.add(10 * time.Second)
	m.checkOffline(ctx, latest, ms)
	if len(told) != len(ids) || len(m.offline) != len(ids) {
		t.Fatalf("the round after a refused batch: %d alarms told, %d noted open, want %d", len(told), len(m.offline), len(ids))
	}
	byHand := told[7]
	if _, err := st.ClearAlarm(ctx, byHand.ID, "王工", clk.now(), "已处理"); err != nil {
		t.Fatal(err)
	}
	told = nil
	clk.add(10 * time.Second)
	for _, id := range ids {
		latest[id] = clk.now()
	}
	m.checkOffline(ctx, latest, ms)
	if len(told) != len(ids)-1 || len(m.offline) != 0 {
		t.Fatalf("meters back: %d alarms told, want %d; %d noted open", len(told), len(ids)-1, len(m.offline))
	}
	for _, a := range told {
		if a.ID == byHand.ID || a.State != alarm.Cleared || a.ClearedBy != "system" {
			t.Fatalf("told %+v", a)
		}
	}
	if open, err := st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true}); err != nil || len(open) != 0 {
		t.Fatalf("offline alarms open after the meters came back: %+v, %v", open, err)
	}
}
