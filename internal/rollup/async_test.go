package rollup

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/target"
)

// gated is a source whose computations wait for the gate and then fail
// with fail, if set; it counts the computations started.
type gated struct {
	Source
	gate    chan struct{}
	fail    atomic.Pointer[error]
	started atomic.Int64
}

func (g *gated) Regions(ctx context.Context) ([]meter.Region, error) {
	g.started.Add(1)
	<-g.gate
	if err := g.fail.Load(); err != nil {
		return nil, *err
	}
	return g.Source.Regions(ctx)
}

// open lets the computations waiting on the gate run.
func (g *gated) open() {
	select {
	case <-g.gate:
	default:
		close(g.gate)
	}
}

// expectStarted waits for n computations to have started, and checks that
// no more do.
func (g *gated) expectStarted(t *testing.T, n int64) {
	t.Helper()
	for i := 0; i < 500 && g.started.Load() < n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := g.started.Load(); got != n {
		t.Fatalf("%d computations started, want %d", got, n)
	}
}

// TestCurrentAnswersAtOnce: a year without a snapshot, and a refresh, are
// answered at once with the computation's progress; asking again while it
// runs (refresh or not) starts no other; the snapshot is answered once it
// is done; a stale one is answered with the newer one's computation; a
// failure is answered to the next question, not swallowed, and a refresh
// starts again.
func TestCurrentAnswersAtOnce(t *testing.T) {
	src := &gated{Source: testProvince(t, true, allDeclared...), gate: make(chan struct{})}
	now := metNow
	svc := &Service{Src: src, MaxAge: time.Minute, Now: func() time.Time { return now }}
	defer func() { // a failed check must not leave a computation waiting
		src.open()
		svc.Wait()
	}()
	computing := func(refresh bool) *ComputingError {
		t.Helper()
		snap, _, err := svc.Current(2026, refresh)
		var ce *ComputingError
		if snap != nil || !errors.As(err, &ce) || ce.Year != 2026 || ce.StartedAt.IsZero() || !strings.Contains(err.Error(), "计算中") {
			t.Fatalf("refresh %v: %v, %v; want a computation under way", refresh, snap, err)
		}
		return ce
	}
	computing(false)
	computing(true)
	computing(false)
	src.expectStarted(t, 1)
	src.open() // let every computation run through
	svc.Wait()
	a, st, err := svc.Current(2026, false)
	if err != nil || a == nil || st.Computing != nil || st.Failed != nil {
		t.Fatalf("after the computation: %v %+v %v", a, st, err)
	}
	if tg, err := svc.Targets(target.LevelProvince, "", 2026, false); err != nil || tg.Computing != nil || tg.ComputedAt != a.Computed {
		t.Fatalf("targets: %+v %v", tg, err)
	}

	// Stale: answered, with the newer one's computation.
	src.gate = make(chan struct{})
	now = metNow.Add(2 * time.Minute)
	b, st, err := svc.Current(2026, false)
	if err != nil || b != a || st.Computing == nil {
		t.Fatalf("stale: %v %+v %v", b, st, err)
	}
	if tg, err := svc.Targets(target.LevelProvince, "", 2026, false); err != nil || tg.Computing == nil {
		t.Fatalf("stale targets: %+v %v", tg, err)
	}
	// A refresh while it runs starts no other and gives no snapshot.
	computing(true)
	src.expectStarted(t, 2)
	boom := errors.New("store gone")
	src.fail.Store(&boom)
	src.open()
	svc.Wait()
	// The failure is said beside the stale snapshot (the question starts
	// a new computation, the snapshot being older than MaxAge).
	tg, err := svc.Targets(target.LevelProvince, "", 2026, false)
	if err != nil || !strings.Contains(tg.RefreshError, "store gone") || !strings.Contains(tg.RefreshError, "计算失败") {
		t.Fatalf("stale snapshot after a failure: %+v %v", tg, err)
	}
	svc.Wait()
	// A year whose first computation failed: the failure is the answer.
	now = metNow
	fresh := &Service{Src: src, MaxAge: time.Minute, Now: func() time.Time { return now }}
	computing2 := func() {
		t.Helper()
		if _, _, err := fresh.Current(2025, false); !errors.As(err, new(*ComputingError)) {
			t.Fatalf("first question: %v", err)
		}
	}
	computing2()
	fresh.Wait()
	var fe *FailedError
	for range 2 { // answered to every poller, starting nothing
		if _, _, err := fresh.Current(2025, false); !errors.As(err, &fe) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "计算失败") {
			t.Fatalf("after a failed first computation: %v", err)
		}
	}
	n := src.started.Load()
	src.fail.Store(nil)
	if _, _, err := fresh.Current(2025, true); !errors.As(err, new(*ComputingError)) {
		t.Fatalf("a refresh after the failure: %v", err)
	}
	src.expectStarted(t, n+1)
	fresh.Wait()
	if snap, _, err := fresh.Current(2025, false); err != nil || snap == nil {
		t.Fatalf("after the refresh: %v", err)
	}
}
