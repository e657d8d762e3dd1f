package alarmwatch

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// A round that keeps windows raises, repeats and clears exactly the
// balance alarms of one that reads every window, for random sequences of
// readings (on time, late, missing; balanced or 20 % short) and of
// rounds (every 1–10 min, so windows move and some rounds share one; a third of the rounds commit nothing).
func TestBalanceKeptWindowsSameAlarms(t *testing.T) {
	notified := 0
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			full, kept := newBalanceCase(t), newBalanceCase(t)
			full.m.fullBalance = true
			var gotFull, gotKept []string
			full.m.opts.Notify = func(a alarm.Alarm) { gotFull = append(gotFull, alarmLine(a)) }
			kept.m.opts.Notify = func(a alarm.Alarm) { gotKept = append(gotKept, alarmLine(a)) }
			rng := rand.New(rand.NewPCG(seed, 7))
			// Slot k is 00:00 + k·5 min; each meter has stored slots
			// [0, next) and the clock starts at 02:10.
			next := map[string]int{"M-IN": 0, "M-U": 0, "M-U2": 0}
			per := map[string]float64{"M-IN": 10, "M-U": 5, "M-U2": 3} // per 5 min
			total := map[string]float64{"M-IN": 100, "M-U": 50, "M-U2": 20}
			clk := full.m.opts.Now
			for round := 0; round < 80; round++ {
				now := clk()
				quiet := rng.IntN(3) == 0 // no commit: only the clock moves
				for _, mt := range []string{"M-IN", "M-U", "M-U2"} {
					if quiet || rng.IntN(4) == 0 {
						continue // silent this round
					}
					if mt == "M-U2" && rng.IntN(3) == 0 {
						per[mt] = float64(3 + 2*rng.IntN(2)) // balanced (5) or 20 % short (3)
					}
					last := int(now.Sub(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) / (5 * time.Minute))
					to := min(last, next[mt]+rng.IntN(8))
					for k := next[mt]; k <= to; k++ {
						total[mt] += per[mt]
						full.commitEvery(5*time.Minute, mt, k, k, total[mt], 0)
						kept.commitEvery(5*time.Minute, mt, k, k, total[mt], 0)
					}
					next[mt] = max(next[mt], to+1)
				}
				full.m.checkBalances(context.Background())
				kept.m.checkBalances(context.Background())
				if !slices.Equal(gotFull, gotKept) {
					t.Fatalf("round %d at %s: reading every window notified\n%q\nkeeping windows\n%q", round, now.Format("15:04"), gotFull, gotKept)
				}
				d := time.Duration(1+rng.IntN(10)) * time.Minute
				full.clk.add(d)
				kept.clk.add(d)
			}
			notified += len(gotFull)
		})
	}
	if notified < 20 {
		t.Fatalf("%d balance notifications in all: the sequences test little", notified)
	}
}

func alarmLine(a alarm.Alarm) string {
	return fmt.Sprintf("%s %s %s count %d last %s: %s", a.Kind, a.Enterprise, a.State, a.Count, a.LastRaised.Format(time.RFC3339), a.Message)
}

// A new window (the clock passed a quarter hour) is read again though
// nothing was committed since the last round.
func TestBalanceKeptWindowMovesWithClock(t *testing.T) {
	c := newBalanceCase(t) // 02:10: window 00:00–02:00
	c.commit("M-IN", 0, 13, 100, 10)
	c.commit("M-U", 0, 13, 50, 5)
	c.commit("M-U2", 4, 13, 20, 3)
	if a := c.open(); len(a) != 0 {
		t.Fatalf("balance alarm while U2 covers half the window: %+v", a)
	}
	c.clk.add(time.Hour) // 03:10: window 01:00–03:00, U2 covers it
	if a := c.open(); len(a) != 1 {
		t.Fatalf("no balance alarm for the window U2 covers: %+v", a)
	}
}

// A reading committed within the same window makes the next round read
// that enterprise's window again.
func TestBalanceKeptWindowReadAgainAfterCommit(t *testing.T) {
	c := newHalfCoveredCase(t)
	if _, ok := c.m.windows["E"]; !ok {
		t.Fatalf("window of E not kept")
	}
	c.seq["M-U2"] = 100
	c.commit("M-U2", 0, 3, 20, 3)
	if a := c.open(); len(a) != 1 {
		t.Fatalf("no balance alarm once U2's earlier readings are committed: %+v", a)
	}
}

// roundInCommit is a store whose Commit runs a balance round once the
// batch is stored and before Commit returns: the round a commit races.
type roundInCommit struct {
	*sqlite.Store
	round func()
}

func (s roundInCommit) Commit(ctx context.Context, b *store.Batch) error {
	if err := s.Store.Commit(ctx, b); err != nil {
		return err
	}
	s.round()
	return nil
}

// A round that starts after a commit is stored but before it is marked
// committed reads the window again: the commit is in flight.
func TestBalanceKeptWindowReadAgainInFlight(t *testing.T) {
	c := newHalfCoveredCase(t)
	c.to = c.m.CommitsTo(roundInCommit{Store: c.st, round: func() { c.m.checkBalances(context.Background()) }})
	c.seq["M-U2"] = 100
	c.commit("M-U2", 0, 3, 20, 3)
	a, err := c.st.Alarms(context.Background(), alarm.Filter{Kind: KindBalance, Open: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 {
		t.Fatalf("no balance alarm from the round during the commit of U2's earlier readings: %+v", a)
	}
}

// After a registry change every window is read again, even where no
// commit was seen (here U2's readings reach the store unwatched).
func TestBalanceKeptWindowReadAgainAfterRegistryChange(t *testing.T) {
	c := newHalfCoveredCase(t)
	c.to = c.st // unwatched
	c.seq["M-U2"] = 100
	c.commit("M-U2", 0, 3, 20, 3)
	c.m.RegistryChanged("M-U2")
	if a := c.open(); len(a) != 1 {
		t.Fatalf("no balance alarm after the registry change: %+v", a)
	}
}

// Many meters new to the check are looked up in one read of the registry
// and give their points.
func TestBalanceDirtyPointsManyMeters(t *testing.T) {
	c := newBalanceCase(t)
	c.m.CommitsTo(c.st)
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("M-X%02d", i)
		if err := c.st.CreateMeter(context.Background(), meter.Meter{ID: id, Point: "U2", Key: key(t, id), Signed: meter.SignedByMeter, Registered: c.clk.now(), Interval: time.Minute}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rs := []store.Reading{{Meter: "M-IN"}}
	for _, id := range ids {
		rs = append(rs, store.Reading{Meter: id})
	}
	c.m.committing(rs, 1)
	c.m.committing(rs, -1)
	got := c.m.dirtyPoints(context.Background())
	if want := map[string]bool{"IN": true, "U2": true}; !maps.Equal(got, want) {
		t.Fatalf("dirty points %v, want %v", got, want)
	}
	if f := c.m.facts["M-U"]; len(c.m.facts) < 21 || f.point != "U" || f.enterprise != "E" {
		t.Fatalf("facts of meters after one read of the registry: %v", c.m.facts)
	}
}

// failingBalance is a balance store whose Points or Enterprises fails
// while fail names it.
type failingBalance struct {
	BalanceStore
	fail *string
}

func (s failingBalance) Points(ctx context.Context, f store.Filter) ([]meter.Point, error) {
	if *s.fail == "points" {
		return nil, fmt.Errorf("points unavailable")
	}
	return s.BalanceStore.Points(ctx, f)
}

func (s failingBalance) Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error) {
	if *s.fail == "enterprises" {
		return nil, fmt.Errorf("enterprises unavailable")
	}
	return s.BalanceStore.Enterprises(ctx, f)
}

// A round that cannot read an enterprise's points, or the enterprises, has
// taken the marks of the commits before it: it forgets the windows it could
// not check, so the next round reads them again.
func TestBalanceKeptWindowForgottenOnStoreError(t *testing.T) {
	for _, what := range []string{"points", "enterprises"} {
		t.Run(what, func(t *testing.T) {
			c := newHalfCoveredCase(t)
			fail := ""
			c.m.opts.Balance.Store = failingBalance{BalanceStore: c.m.opts.Balance.Store, fail: &fail}
			c.seq["M-U2"] = 100
			c.commit("M-U2", 0, 3, 20, 3)
			fail = what
			if a := c.open(); len(a) != 0 {
				t.Fatalf("balance alarm from a round that could not read the store: %+v", a)
			}
			fail = ""
			if a := c.open(); len(a) != 1 {
				t.Fatalf("no balance alarm in the round after the failed one: %+v", a)
			}
		})
	}
}

// newHalfCoveredCase is a balance case whose window E's round has kept:
// U2 reported only the second half of it, so the balance is not judged.
// U2's earlier readings, committed later, make it 20 % short.
func newHalfCoveredCase(t *testing.T) *balanceCase {
	t.Helper()
	c := newBalanceCase(t)
	c.commit("M-IN", 0, 9, 100, 10)
	c.commit("M-U", 0, 9, 50, 5)
	c.commit("M-U2", 4, 9, 20, 3)
	if a := c.open(); len(a) != 0 {
		t.Fatalf("balance alarm while U2 covers half the window: %+v", a)
	}
	return c
}

// A meter registered again on another point marks its new point once its
// registry change has been noted: the balance check drops the facts kept
// of it, as the alarms do.
func TestBalanceDirtyPointsAfterMove(t *testing.T) {
	c := newBalanceCase(t)
	ctx := context.Background()
	mark := func() map[string]bool {
		rs := []store.Reading{{Meter: "M-U"}}
		c.m.committing(rs, 1)
		c.m.committing(rs, -1)
		return c.m.dirtyPoints(ctx)
	}
	if got := mark(); !maps.Equal(got, map[string]bool{"U": true}) {
		t.Fatalf("dirty points before the move %v, want U", got)
	}
	mt, err := c.st.Meter(ctx, "M-U")
	if err != nil {
		t.Fatal(err)
	}
	mt.Point = "U2"
	if err := c.st.UpdateMeter(ctx, mt); err != nil {
		t.Fatal(err)
	}
	c.m.RegistryChanged("M-U")
	if got := c.m.dirtyPoints(ctx); got != nil {
		t.Fatalf("dirty points in the round after a registry change %v, want nil (all)", got)
	}
	if got := mark(); !maps.Equal(got, map[string]bool{"U2": true}) {
		t.Fatalf("dirty points after the move %v, want U2", got)
	}
}
