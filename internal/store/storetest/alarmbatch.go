package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
)

// testAlarmBatches raises and clears alarms in batches on one store and
// one by one on the other, from the same alarms before, and compares every
// answer, every alarm and every history.
func testAlarmBatches(t *testing.T, batch, single store.Store) {
	ctx := context.Background()
	t0 := day(3)
	off := func(meter, msg string, at time.Duration) alarm.Alarm {
		return alarm.Alarm{Kind: "offline", Severity: alarm.SeverityMajor, Enterprise: "E-XT-1", Point: "PT-1", Meter: meter, Message: msg, Raised: t0.Add(at)}
	}
	// The same alarms before, one by one in both: M-1 open, M-2
	// acknowledged, M-4 cleared, a leak open.
	var before []int64
	for _, s := range []store.Store{batch, single} {
		before = before[:0]
		for _, a := range []alarm.Alarm{off("M-1", "离线", 0), off("M-2", "离线", 0), off("M-4", "离线", 0),
			{Kind: "leak", Severity: alarm.SeverityMinor, Enterprise: "E-CS-1", Message: "夜间最小流量", Raised: t0}} {
			got, _, err := s.RaiseAlarm(ctx, a)
			must(t, err)
			before = append(before, got.ID)
		}
		_, err := s.AckAlarm(ctx, before[1], "王工", t0.Add(time.Minute), "已派人")
		must(t, err)
		_, err = s.ClearAlarm(ctx, before[2], "system", t0.Add(2*time.Minute), "")
		must(t, err)
	}

	raises := []alarm.Alarm{
		off("M-1", "still offline", time.Hour),      // a repeat on an open alarm
		off("M-2", "still offline", 30*time.Minute), // on an acknowledged one
		off("M-5", "离线", time.Hour),                 // new
		off("M-5", "again", 50*time.Minute),         // a repeat on the one just opened, earlier
		off("M-4", "back offline", time.Hour),       // new: the old one is cleared
		{Kind: "gap", Severity: alarm.SeverityMinor, Enterprise: "E-XT-1", Point: "PT-1", Meter: "M-1", Raised: t0.Add(time.Hour)},        // another kind
		{Kind: "offline", Severity: alarm.SeverityCritical, Enterprise: "E-XT-2", Point: "PT-3", Meter: "M-1", Raised: t0.Add(time.Hour)}, // another subject
	}
	got, err := batch.RaiseAlarms(ctx, raises)
	must(t, err)
	if len(got) != len(raises) {
		t.Fatalf("RaiseAlarms gave %d answers for %d alarms", len(got), len(raises))
	}
	var ids []int64
	for i, a := range raises {
		want, created, err := single.RaiseAlarm(ctx, a)
		must(t, err)
		if !reflect.DeepEqual(got[i], store.RaisedAlarm{Alarm: want, Created: created}) {
			t.Errorf("raise %d in a batch: %+v, one by one %+v created %v", i, got[i], want, created)
		}
		ids = append(ids, want.ID)
	}

	// Clear: open, acknowledged, already cleared, missing, named twice.
	clears := []int64{ids[0], ids[1], before[2], 999999, ids[2], ids[0], ids[6]}
	cleared, err := batch.ClearAlarms(ctx, clears, "system", t0.Add(2*time.Hour), "data returned")
	must(t, err)
	if len(cleared) != len(clears) {
		t.Fatalf("ClearAlarms gave %d answers for %d ids", len(cleared), len(clears))
	}
	for i, id := range clears {
		want, err := single.ClearAlarm(ctx, id, "system", t0.Add(2*time.Hour), "data returned")
		c := cleared[i]
		switch {
		case err == nil:
			if c.Err != nil || !reflect.DeepEqual(c.Alarm, want) {
				t.Errorf("clear %d (alarm %d) in a batch: %+v, one by one %+v", i, id, c, want)
			}
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
			if c.Err == nil || c.Err.Error() != err.Error() || errors.Is(c.Err, store.ErrNotFound) != errors.Is(err, store.ErrNotFound) ||
				errors.Is(c.Err, store.ErrConflict) != errors.Is(err, store.ErrConflict) || c.Alarm != (alarm.Alarm{}) {
				t.Errorf("clear %d (alarm %d) in a batch: %+v, one by one the error %v", i, id, c, err)
			}
		default:
			t.Fatal(err)
		}
	}

	// An invalid alarm stores nothing of its batch; empty batches store
	// nothing and fail nothing.
	_, err = batch.RaiseAlarms(ctx, []alarm.Alarm{off("M-9", "", 0), {Kind: "x", Severity: "panic", Raised: t0}})
	wantErr(t, "a batch with an invalid alarm", err, store.ErrInvalid)
	if r, err := batch.RaiseAlarms(ctx, nil); err != nil || len(r) != 0 {
		t.Errorf("no alarms to raise: %v, %v", r, err)
	}
	if c, err := batch.ClearAlarms(ctx, nil, "system", t0, ""); err != nil || len(c) != 0 {
		t.Errorf("no alarms to clear: %v, %v", c, err)
	}

	all := func(s store.Store) []alarm.Alarm {
		as, err := s.Alarms(ctx, alarm.Filter{Limit: 1000})
		must(t, err)
		return as
	}
	b, o := all(batch), all(single)
	if !reflect.DeepEqual(b, o) {
		t.Fatalf("alarms after batches:\n%+v\none by one:\n%+v", b, o)
	}
	for _, a := range b {
		hb, err := batch.AlarmHistory(ctx, a.ID)
		must(t, err)
		ho, err := single.AlarmHistory(ctx, a.ID)
		must(t, err)
		if !reflect.DeepEqual(hb, ho) {
			t.Errorf("history of alarm %d after batches %+v, one by one %+v", a.ID, hb, ho)
		}
	}
}
