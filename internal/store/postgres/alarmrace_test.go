package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// TestRaiseAlarmTwoServers: two stores on one schema (two servers on one
// database) raising the same alarm at the same moment open it once; the
// other raise counts a repeat. Each round starts both raises together on a
// new subject, by RaiseAlarm or by RaiseAlarms.
func TestRaiseAlarmTwoServers(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	var st [2]*Store
	for i := range st {
		s, err := Open(ctx, url, Options{Schema: schema, MaxConns: 4, ManualRollups: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st[i] = s
	}
	const rounds = 60
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	created := make([][2]bool, rounds)
	for r := range rounds {
		a := alarm.Alarm{Kind: "offline", Severity: alarm.SeverityWarning, Enterprise: "EN", Point: "PT", Meter: fmt.Sprintf("M-%d", r),
			Message: "离线 offline", Raised: t0.Add(time.Duration(r) * time.Minute)}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range st {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if r%2 == 0 {
					_, created[r][i], errs[i] = s.RaiseAlarm(ctx, a)
					return
				}
				out, err := s.RaiseAlarms(ctx, []alarm.Alarm{a})
				if err == nil {
					created[r][i] = out[0].Created
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
	}
	open, err := st[0].Alarms(ctx, alarm.Filter{Open: true, Limit: 10 * rounds})
	if err != nil {
		t.Fatal(err)
	}
	bySubject := map[string][]alarm.Alarm{}
	for _, a := range open {
		bySubject[a.Meter] = append(bySubject[a.Meter], a)
	}
	dups := 0
	for r := range rounds {
		m := fmt.Sprintf("M-%d", r)
		as := bySubject[m]
		if len(as) != 1 {
			dups++
			t.Errorf("round %d: %d open alarms for %s", r, len(as), m)
			continue
		}
		if as[0].Count != 2 || created[r][0] == created[r][1] {
			t.Errorf("round %d: count %d, opened by the two stores %v, want count 2 and one opening", r, as[0].Count, created[r])
		}
	}
	t.Logf("%d rounds, %d with more than one open alarm", rounds, dups)
}

// TestAlarmsOpenUniqueMigration: a store made before the unique index,
// holding two open alarms of one kind and subject (as two servers could
// open), starts: the older stays open with the raises of both, the other
// is cleared by "schema" with an event naming the one kept; the next raise
// is a repeat of the one kept.
func TestAlarmsOpenUniqueMigration(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	s, err := Open(ctx, url, Options{Schema: schema, MaxConns: 4, ManualRollups: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a := alarm.Alarm{Kind: "offline", Severity: alarm.SeverityWarning, Enterprise: "EN", Point: "PT", Meter: "M-1", Message: "离线 offline", Raised: t0}
	first, _, err := s.RaiseAlarm(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	// The store as it was: the index not unique, a second open alarm.
	err = s.withWrite(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{`DROP INDEX alarms_open_subject`,
			`CREATE INDEX alarms_subject ON alarms(kind, enterprise, point, meter) WHERE state <> 'cleared'`,
			`INSERT INTO alarms(kind, severity, enterprise, point, meter, message, state, raised, last_raised, count, acked, acked_by, cleared, cleared_by)
				SELECT kind, severity, enterprise, point, meter, message, 'acked', raised + 1000, last_raised + 5000, 3, raised + 2000, 'op', 0, ''
				FROM alarms WHERE id = ` + fmt.Sprint(first.ID)} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, url, Options{Schema: schema, MaxConns: 4, ManualRollups: true})
	if err != nil {
		t.Fatalf("a store with duplicate open alarms does not start: %v", err)
	}
	defer s.Close()
	all, err := s.Alarms(ctx, alarm.Filter{Limit: 10})
	if err != nil || len(all) != 2 {
		t.Fatalf("alarms %+v %v", all, err)
	}
	for _, x := range all {
		switch {
		case x.ID == first.ID:
			if x.State != alarm.Active || x.Count != 4 || !x.LastRaised.Equal(t0.Add(5*time.Second)) {
				t.Errorf("kept %+v, want active, count 4, last raised at +5 s", x)
			}
		case x.State != alarm.Cleared || x.ClearedBy != "schema":
			t.Errorf("duplicate %+v, want cleared by schema", x)
		default:
			var note string
			if err := s.pool.QueryRow(ctx, `SELECT note FROM alarm_events WHERE alarm = $1 AND action = 'clear'`, x.ID).Scan(&note); err != nil ||
				note != fmt.Sprintf("duplicate of open alarm %d", first.ID) {
				t.Errorf("clear event of the duplicate: %q %v", note, err)
			}
		}
	}
	var old bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('alarms_subject') IS NOT NULL`).Scan(&old); err != nil || old {
		t.Errorf("the old index is still there: %v %v", old, err)
	}
	again, created, err := s.RaiseAlarm(ctx, a)
	if err != nil || created || again.ID != first.ID || again.Count != 5 {
		t.Errorf("raise after the migration: %+v created %v %v", again, created, err)
	}
}
