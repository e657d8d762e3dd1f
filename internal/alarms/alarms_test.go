package alarms

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// fixture is a store with two enterprises, an alarm of each and one of no
// enterprise, and a service whose clock and live stream the test reads.
func fixture(t *testing.T) (*Service, map[string]alarm.Alarm, *[]alarm.Alarm, time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E1", Name: "一", Region: "430000", Industry: "3120"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E2", Name: "二", Region: "430000", Industry: "3120"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	as := map[string]alarm.Alarm{}
	for _, ent := range []string{"E1", "E2", ""} {
		a, _, err := st.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityWarning, Enterprise: ent,
			Message: "m", State: alarm.Active, Raised: now.Add(-time.Hour), LastRaised: now.Add(-time.Hour), Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		as[ent] = a
	}
	var told []alarm.Alarm
	return &Service{Store: st, Now: func() time.Time { return now }, Notify: func(a alarm.Alarm) { told = append(told, a) }}, as, &told, now
}

func onlyE1(e meter.Enterprise) bool { return e.ID == "E1" }

// TestScope checks what a caller sees: every alarm when it sees every
// enterprise, otherwise the alarms of the enterprises it sees and none
// without an enterprise.
func TestScope(t *testing.T) {
	svc, as, _, _ := fixture(t)
	ctx := context.Background()
	all, err := svc.List(ctx, alarm.Filter{}, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("sees all: %d alarms, %v", len(all), err)
	}
	mine, err := svc.List(ctx, alarm.Filter{}, onlyE1)
	if err != nil || len(mine) != 1 || mine[0].Enterprise != "E1" {
		t.Fatalf("scoped list %+v, %v", mine, err)
	}
	if _, err := svc.Get(ctx, as["E1"].ID, onlyE1); err != nil {
		t.Fatal(err)
	}
	for _, ent := range []string{"E2", ""} {
		if _, err := svc.Get(ctx, as[ent].ID, onlyE1); !errors.Is(err, ErrOutsideScope) {
			t.Fatalf("alarm of %q: %v", ent, err)
		}
	}
	if _, err := svc.Get(ctx, 999, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no such alarm: %v", err)
	}
}

// TestAckClear checks the changes: stamped with who and now, told to the
// live stream, and a change the alarm's state does not allow refused with
// store.ErrConflict naming the alarm and its state, telling nothing.
func TestAckClear(t *testing.T) {
	svc, as, told, now := fixture(t)
	ctx := context.Background()
	a := as["E1"]
	acked, err := svc.Ack(ctx, a, "值班员", "seen")
	if err != nil {
		t.Fatal(err)
	}
	if acked.State != alarm.Acked || acked.AckedBy != "值班员" || !acked.Acked.Equal(now) {
		t.Fatalf("acked %+v", acked)
	}
	if len(*told) != 1 || (*told)[0].State != alarm.Acked {
		t.Fatalf("told %+v", *told)
	}
	// a as read before the acknowledgement: the refusal names the state
	// that refused it.
	_, err = svc.Ack(ctx, a, "值班员", "")
	want := "alarm " + strconv.FormatInt(a.ID, 10) + " is acked: "
	if !errors.Is(err, store.ErrConflict) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("second ack: %v, want %q… (store.ErrConflict)", err, want)
	}
	cleared, err := svc.Clear(ctx, acked, "值班员", "fixed")
	if err != nil || cleared.State != alarm.Cleared || cleared.ClearedBy != "值班员" || !cleared.Cleared.Equal(now) {
		t.Fatalf("cleared %+v, %v", cleared, err)
	}
	if _, err := svc.Clear(ctx, cleared, "x", ""); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "is cleared") {
		t.Fatalf("clear twice: %v", err)
	}
	if len(*told) != 2 || (*told)[1].State != alarm.Cleared {
		t.Fatalf("told %+v", *told)
	}
	// The store's record keeps each event.
	if h, err := svc.Store.(*sqlite.Store).AlarmHistory(ctx, a.ID); err != nil || len(h) < 2 {
		t.Fatalf("history %+v, %v", h, err)
	}
}

// TestCondition checks a condition's alarm: raised on its meter's point,
// repeated while it lasts, cleared (only its own kind and meter) when it
// ends, each change told to the live stream.
func TestCondition(t *testing.T) {
	svc, as, told, now := fixture(t)
	ctx := context.Background()
	st := svc.Store.(*sqlite.Store)
	total, _ := meter.StandardChannel("total_m3")
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName("D-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.CreatePoint(ctx, meter.Point{ID: "P1", Enterprise: "E1", Name: "塔", Level: 2, Stage: meter.StageUse, Channels: []meter.Channel{total}}),
		st.CreateMeter(ctx, meter.Meter{ID: "D-1", Point: "P1", Key: vkey, Signed: meter.SignedByMeter, Registered: now.Add(-time.Hour), Interval: time.Minute}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := Condition{Kind: "control-stale", Severity: alarm.SeverityWarning, Enterprise: "E1", Meter: "D-1", Message: "PL1: stale"}
	a, created, err := svc.Raise(ctx, c)
	if err != nil || !created || a.Point != "P1" || a.State != alarm.Active || !a.Raised.Equal(now) {
		t.Fatalf("raised %+v, created %v, %v", a, created, err)
	}
	again, created, err := svc.Raise(ctx, c)
	if err != nil || created || again.ID != a.ID || again.Count != 2 {
		t.Fatalf("repeated %+v, created %v, %v", again, created, err)
	}
	other := c
	other.Kind = "control-other"
	if _, _, err := svc.Raise(ctx, other); err != nil {
		t.Fatal(err)
	}
	*told = nil
	if err := svc.ClearCondition(ctx, c, "control", "condition cleared"); err != nil {
		t.Fatal(err)
	}
	if len(*told) != 1 || (*told)[0].ID != a.ID || (*told)[0].State != alarm.Cleared || (*told)[0].ClearedBy != "control" {
		t.Fatalf("told %+v", *told)
	}
	open, _ := svc.List(ctx, alarm.Filter{Open: true}, nil)
	if len(open) != 4 { // the fixture's three and the other condition's
		t.Fatalf("open after clearing one condition: %d, want 4 (%v)", len(open), as)
	}
	// Nothing open: nothing cleared, nothing told.
	if err := svc.ClearCondition(ctx, c, "control", ""); err != nil || len(*told) != 1 {
		t.Fatalf("clearing again: %v, told %d", err, len(*told))
	}
}
