package netreg_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/internal/netreg"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
)

// reloads counts the monitor's reloads.
type reloads map[string]int

func (r reloads) Reload(id string) { r[id]++ }

func TestPutAndModel(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	ctx := context.Background()
	mon := reloads{}
	now := p.Origin
	reg := netreg.New(p.Store, mon, func() time.Time { return now })
	req := netreg.Registration{ID: netmontest.NetworkID, Name: "园区管网", Enterprise: netmontest.UtilityID,
		INP: string(parknet.INP()), Config: p.ConfigJSON(t)}

	n, created, err := reg.Put(ctx, req, false)
	if err != nil || !created || n.Park != netmontest.ParkID || mon[n.ID] != 1 {
		t.Fatalf("put: %+v created=%v err=%v reloads=%d", n, created, err, mon[n.ID])
	}
	if _, _, err := reg.Put(ctx, req, false); !errors.Is(err, netreg.ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
	// The same registration again changes nothing: the monitor keeps its
	// calibration.
	if same, created, err := reg.Put(ctx, req, true); err != nil || created || !same.Updated.Equal(n.Updated) || mon[n.ID] != 1 {
		t.Fatalf("unchanged replace: %+v created=%v err=%v reloads=%d", same, created, err, mon[n.ID])
	}

	// The model is parsed once per stored text.
	m := reg.Model(n)
	if m.NetErr != nil || m.ConfigErr != nil || m.Net.Junctions != 62 || len(m.Config.Sensors) != len(p.Config.Sensors) {
		t.Fatalf("model: %+v", m)
	}
	if again := reg.Model(n); again != m {
		t.Fatal("an unchanged network was parsed again")
	}
	fresh := netreg.New(p.Store, nil, time.Now)
	if other := fresh.Model(n); other == m || other.Net.Junctions != 62 {
		t.Fatal("a second registry shares the first one's cache")
	}

	// A replacement is parsed again.
	now = now.Add(time.Hour)
	req.INP = strings.Replace(req.INP, "[TITLE]", "[TITLE]\nreplaced", 1)
	n2, created, err := reg.Put(ctx, req, true)
	if err != nil || created || mon[n.ID] != 2 {
		t.Fatalf("replace: created=%v err=%v reloads=%d", created, err, mon[n.ID])
	}
	m2 := reg.Model(n2)
	if m2 == m || len(m2.Net.Title) == 0 || m2.Net.Title[0] != "replaced" {
		t.Fatalf("replaced model: title %q", m2.Net.Title)
	}
	// A record that differs from the cached text (changed behind the
	// registry's back) is parsed, not served stale.
	n2.INP = string(parknet.INP())
	if m3 := reg.Model(n2); m3 == m2 || len(m3.Net.Title) > 0 && m3.Net.Title[0] == "replaced" {
		t.Fatal("a stale model was served")
	}
	n2.INP = "[PIPES]\n P1 X Y 10 100 100\n"
	if m4 := reg.Model(n2); m4.NetErr == nil || m4.Net != nil || m4.Clock().Speed != p.Config.Clock.Speed {
		t.Fatalf("a broken stored model: %+v", m4)
	}
}

func TestCheckRefuses(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, false)
	reg := netreg.New(p.Store, nil, time.Now)
	good := netreg.Registration{ID: "N1", Name: "管网", Enterprise: netmontest.UtilityID, INP: string(parknet.INP()), Config: p.ConfigJSON(t)}
	if _, err := reg.Check(context.Background(), &good); err != nil || good.Park != netmontest.ParkID {
		t.Fatalf("good registration: %v (park %q)", err, good.Park)
	}
	for name, edit := range map[string]func(r *netreg.Registration){
		"bad id":      func(r *netreg.Registration) { r.ID = "N 1" },
		"no name":     func(r *netreg.Registration) { r.Name = "" },
		"no operator": func(r *netreg.Registration) { r.Enterprise = "" },
		"other park":  func(r *netreg.Registration) { r.Park = "PK-ELSEWHERE" },
		"broken inp":  func(r *netreg.Registration) { r.INP = "[PIPES]\n P1 X Y 10 100 100\n" },
		"no config":   func(r *netreg.Registration) { r.Config = nil },
		"unknown point": func(r *netreg.Registration) {
			r.Config = []byte(strings.Replace(string(r.Config), "PT-A13", "PT-NOPE", 1))
		},
		"unknown field": func(r *netreg.Registration) { r.Config = []byte(`{"sensorz":[]}`) },
		"unknown node": func(r *netreg.Registration) {
			r.Config = []byte(strings.Replace(string(r.Config), `"A13"`, `"Z99"`, 1))
		},
		"no such entity": func(r *netreg.Registration) { r.Enterprise = "EN-NOPE" },
	} {
		r := good
		r.Park = ""
		edit(&r)
		if _, err := reg.Check(context.Background(), &r); !errors.Is(err, netreg.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
