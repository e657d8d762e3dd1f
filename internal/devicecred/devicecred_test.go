package devicecred

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// enterpriseStore opens a real store with enterprise EN in park PK.
func enterpriseStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "store.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return st
}

// totalChannel is the points' one channel.
var totalChannel = meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Min: 0, Max: 1e9}

// setup opens a real store with meters M-1 and M-2 on one point.
func setup(t *testing.T) (*Credentials, *sqlite.Store, *ingest.Directory) {
	t.Helper()
	ctx := context.Background()
	st := enterpriseStore(t)
	steps := []error{
		st.CreatePoint(ctx, meter.Point{ID: "PT-1", Enterprise: "EN", Name: "取水", Level: meter.Level1,
			Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{totalChannel}}),
	}
	for _, id := range []string{"M-1", "M-2"} {
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, st.CreateMeter(ctx, meter.Meter{ID: id, Point: "PT-1", Key: vkey, Signed: meter.SignedByMeter,
			Registered: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}))
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := ingest.NewDirectory()
	return New(st, dir), st, dir
}

func TestAuthenticate(t *testing.T) {
	c, st, dir := setup(t)
	ctx := context.Background()
	if err := c.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := dir.Get("M-2"); !ok || d.Enterprise != "EN" {
		t.Fatalf("directory after LoadAll: %+v %v", d, ok)
	}
	if err := c.SetSecret(ctx, "M-1", "first password!"); err != nil {
		t.Fatal(err)
	}
	rec, err := st.DeviceSecret(ctx, "M-1")
	if err != nil || strings.Contains(rec, "first password!") {
		t.Fatalf("stored record %q (%v) must be a hash", rec, err)
	}
	for _, tc := range []struct {
		id, pw string
		want   bool
	}{
		{"M-1", "first password!", true},
		{"M-1", "first password!", true}, // from the cache
		{"M-1", "first password?", false},
		{"M-1", "", false},
		{"M-2", "first password!", false}, // no password set
		{"M-9", "first password!", false}, // not registered
	} {
		if got := c.Authenticate(tc.id, []byte(tc.pw)); got != tc.want {
			t.Errorf("Authenticate(%s, %q) = %v, want %v", tc.id, tc.pw, got, tc.want)
		}
	}
	// A new password replaces the old one, cached or not.
	if err := c.SetSecret(ctx, "M-1", "second password"); err != nil {
		t.Fatal(err)
	}
	if c.Authenticate("M-1", []byte("first password!")) || !c.Authenticate("M-1", []byte("second password")) {
		t.Fatal("the old password still works or the new one does not")
	}
	var disconnected []string
	c.OnRevoke = func(id string) { disconnected = append(disconnected, id) }
	if err := st.RevokeMeter(ctx, "M-1"); err != nil {
		t.Fatal(err)
	}
	c.Revoked(ctx, "M-1")
	if c.Authenticate("M-1", []byte("second password")) {
		t.Fatal("a revoked meter authenticated")
	}
	if len(disconnected) != 1 || disconnected[0] != "M-1" {
		t.Fatalf("OnRevoke calls: %v", disconnected)
	}
}

func TestCheckPassword(t *testing.T) {
	if CheckPassword(strings.Repeat("x", MinPasswordLen-1)) == nil || CheckPassword(strings.Repeat("x", MinPasswordLen)) != nil {
		t.Fatal("the password rule does not hold at its boundary")
	}
}

// TestOnChange: registrations (one or many) and revocations tell OnChange
// which meters changed.
func TestOnChange(t *testing.T) {
	c, st, _ := setup(t)
	ctx := context.Background()
	var got []string
	c.OnChange = func(ids ...string) { got = append(got, ids...) }
	if err := c.Registered(ctx, "M-1", ""); err != nil {
		t.Fatal(err)
	}
	c.Revoked(ctx, "M-2")
	m, err := st.Meter(ctx, "M-1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Point(ctx, "PT-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutMeters([]meter.Meter{m}, []meter.Point{p}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.KeyApplied(ctx, &reading.KeyEntry{Action: reading.ActionRevoke, Meter: "M-1"}, ""); err != nil {
		t.Fatal(err)
	}
	if want := []string{"M-1", "M-2", "M-1", "M-1"}; !slices.Equal(got, want) {
		t.Fatalf("OnChange saw %v, want %v", got, want)
	}
}

// TestLoadAllRevoked: a reload tells OnRevoke of the meters the directory
// held as registered that the registry now has revoked, and of no other.
func TestLoadAllRevoked(t *testing.T) {
	c, st, dir := setup(t)
	ctx := context.Background()
	var told []string
	c.OnRevoke = func(id string) { told = append(told, id) }
	if err := c.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Fatalf("first load told OnRevoke of %v", told)
	}
	if err := st.RevokeMeter(ctx, "M-2"); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(told, []string{"M-2"}) {
		t.Errorf("OnRevoke told of %v, want [M-2]", told)
	}
	if d, _ := dir.Get("M-2"); !d.Revoked {
		t.Error("M-2 not revoked in the directory")
	}
	if err := c.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 {
		t.Errorf("a reload with nothing new: OnRevoke told of %v in all", told)
	}
}

// TestReload: another process's credentials (an edge's) follow what
// OnCredentialChange reports — a new meter, a new password, a revocation,
// a gateway's registration and revocation — by loading those devices
// again, and tell OnRevoke of the revoked ones.
func TestReload(t *testing.T) {
	seq, st, _ := setup(t)
	ctx := context.Background()
	edgeDir := ingest.NewDirectory()
	edge := New(st, edgeDir)
	var disconnected []string
	edge.OnRevoke = func(id string) { disconnected = append(disconnected, id) }
	if err := edge.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	var reloadErr error
	seq.OnCredentialChange = func(ids ...string) { reloadErr = edge.Reload(ctx, ids...) }
	check := func(step string) {
		t.Helper()
		if reloadErr != nil {
			t.Fatalf("%s: Reload: %v", step, reloadErr)
		}
	}

	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName("M-3"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.CreateMeter(ctx, meter.Meter{ID: "M-3", Point: "PT-1", Key: vkey, Signed: meter.SignedByMeter, Registered: time.Now()}))
	must(t, seq.Registered(ctx, "M-3", ""))
	check("register")
	if d, ok := edgeDir.Get("M-3"); !ok || d.Key != vkey || d.Enterprise != "EN" {
		t.Fatalf("edge directory after a registration: %+v %v", d, ok)
	}

	must(t, seq.SetSecret(ctx, "M-3", "first password!"))
	check("password")
	if !edge.Authenticate("M-3", []byte("first password!")) {
		t.Fatal("the edge refuses the meter's password")
	}
	must(t, seq.SetSecret(ctx, "M-3", "second password"))
	check("new password")
	if edge.Authenticate("M-3", []byte("first password!")) || !edge.Authenticate("M-3", []byte("second password")) {
		t.Fatal("at the edge the old password still works (cached) or the new one does not")
	}

	must(t, st.RevokeMeter(ctx, "M-3"))
	seq.Revoked(ctx, "M-3")
	check("revoke")
	if edge.Authenticate("M-3", []byte("second password")) {
		t.Fatal("a meter revoked at the sequencer logs in at the edge")
	}

	_, gkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName("GW-1"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.CreateGateway(ctx, meter.Gateway{ID: "GW-1", Key: gkey, Enterprise: "EN", Registered: time.Now()}))
	must(t, seq.KeyApplied(ctx, &reading.KeyEntry{Action: reading.ActionRegister, Gateway: "GW-1", Key: gkey}, ""))
	check("gateway")
	if g, ok := edgeDir.Gateway("GW-1"); !ok || g.Revoked {
		t.Fatalf("edge directory after a gateway's registration: %+v %v", g, ok)
	}
	must(t, st.RevokeGateway(ctx, "GW-1"))
	must(t, seq.KeyApplied(ctx, &reading.KeyEntry{Action: reading.ActionRevoke, Gateway: "GW-1"}, ""))
	check("gateway revoked")
	if g, _ := edgeDir.Gateway("GW-1"); !g.Revoked {
		t.Fatal("gateway revoked at the sequencer is not at the edge")
	}
	if want := []string{"M-3", "GW-1"}; !slices.Equal(disconnected, want) {
		t.Fatalf("edge's OnRevoke told of %v, want %v", disconnected, want)
	}
	if err := edge.Reload(ctx, "NOBODY", "M-3"); err != nil {
		t.Fatalf("Reload of an ID the store does not hold: %v", err)
	}
	if len(disconnected) != 2 {
		t.Fatalf("a second Reload of a revoked meter told OnRevoke again: %v", disconnected)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
