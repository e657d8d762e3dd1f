package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/meter"
)

// TestChannelsDecodedOnce: the channels of points that share a channel
// set are decoded once, not once per point and read (the province roll-up
// resolves every series' point in each of its store reads and lists every
// point), a listed point's channels are its own, and a point whose
// channels change is read with its new ones.
func TestChannelsDecodedOnce(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	s, err := Open(ctx, url, Options{Schema: schema, ManualRollups: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const n = 200
	register(t, s, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("P%04d", i)
	}
	read := func() map[string][]meter.Channel {
		got, err := s.pointsChannels(ctx, s.pool, ids)
		if err != nil || len(got) != n {
			t.Fatalf("%d points' channels, want %d: %v", len(got), n, err)
		}
		return got
	}
	read()
	// Five channels a point: decoding them took 32 allocations a point;
	// reading the rows takes about five.
	if a := testing.AllocsPerRun(5, func() { read() }); a > 10*n {
		t.Errorf("%.0f allocations to read %d points' channels, want at most %d: their JSON is decoded again", a, n, 10*n)
	}
	// So are a listing's, each point with its own copy.
	list := func() []meter.Point {
		pts, err := s.Points(ctx, store.Filter{Enterprise: "E"})
		if err != nil || len(pts) != n {
			t.Fatalf("%d points, want %d: %v", len(pts), n, err)
		}
		return pts
	}
	pts := list()
	if a := testing.AllocsPerRun(5, func() { list() }); a > 15*n {
		t.Errorf("%.0f allocations to list %d points, want at most %d: their channels' JSON is decoded again", a, n, 15*n)
	}
	pts[3].Channels[0].Rollover = 1
	if r := list()[4].Channels[0].Rollover; r != 99999.99 {
		t.Errorf("P0004's total_m3 rolls over at %v after another point's listed copy was changed, want 99999.99", r)
	}
	p, err := s.Point(ctx, "P0007")
	if err != nil {
		t.Fatal(err)
	}
	p.Channels[0].Rollover = 9999.99
	if err := s.UpdatePoint(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := read()
	if r := got["P0007"][0].Rollover; r != 9999.99 {
		t.Errorf("P0007's total_m3 rolls over at %v after the update, want 9999.99", r)
	}
	if r := got["P0008"][0].Rollover; r != 99999.99 {
		t.Errorf("P0008's total_m3 rolls over at %v, want 99999.99 (unchanged)", r)
	}
}
