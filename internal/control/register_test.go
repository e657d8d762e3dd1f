package control

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/plant"
)

// memDirectory is a registry of enterprises, meters (id → point) and
// points (id → enterprise).
type memDirectory struct {
	enterprises map[string]bool
	meters      map[string]string
	points      map[string]string
}

func (d memDirectory) Enterprise(_ context.Context, id string) (meter.Enterprise, error) {
	if !d.enterprises[id] {
		return meter.Enterprise{}, fmt.Errorf("enterprise %s: %w", id, store.ErrNotFound)
	}
	return meter.Enterprise{ID: id}, nil
}

func (d memDirectory) Meter(_ context.Context, id string) (meter.Meter, error) {
	pt, ok := d.meters[id]
	if !ok {
		return meter.Meter{}, fmt.Errorf("meter %s: %w", id, store.ErrNotFound)
	}
	return meter.Meter{ID: id, Point: pt}, nil
}

func (d memDirectory) Point(_ context.Context, id string) (meter.Point, error) {
	ent, ok := d.points[id]
	if !ok {
		return meter.Point{}, fmt.Errorf("point %s: %w", id, store.ErrNotFound)
	}
	return meter.Point{ID: id, Enterprise: ent}, nil
}

// TestRegisterPlant checks the registration use case: the enterprise and
// every meter or device the configuration names are checked against the
// registry before anything is saved, and a refusal names what is wrong.
func TestRegisterPlant(t *testing.T) {
	newRunner := func(dir Directory) (*Runner, *memStore) {
		st := &memStore{plants: map[string]plant.Record{}, commands: map[string]command.Record{}}
		act, err := actuate.New(actuate.Options{Publisher: nopBroker{}, Ledger: &memLedger{}, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRunner(RunnerOptions{Actuation: act, Store: st, Directory: dir})
		if err != nil {
			t.Fatal(err)
		}
		return r, st
	}
	full := func() memDirectory {
		d := memDirectory{enterprises: map[string]bool{"EN1": true, "EN2": true}, meters: map[string]string{},
			points: map[string]string{"P-EN1": "EN1", "P-EN2": "EN2"}}
		for _, m := range towerConfig().Meters() {
			d.meters[m] = "P-EN1"
		}
		return d
	}
	for _, tc := range []struct {
		name   string
		change func(*memDirectory, *PlantConfig)
		want   string // the refusal's text; "" registers
	}{
		{"valid", func(*memDirectory, *PlantConfig) {}, ""},
		{"no enterprise", func(_ *memDirectory, c *PlantConfig) { c.Enterprise = "EN9" }, `enterprise "EN9" does not exist`},
		{"meter not registered", func(d *memDirectory, _ *PlantConfig) { delete(d.meters, "D-BDV") },
			`meter or device "D-BDV" is not registered`},
		{"meter of another enterprise", func(d *memDirectory, _ *PlantConfig) { d.meters["M-CT"] = "P-EN2" },
			`meter or device "M-CT" does not belong to enterprise EN1`},
		{"meter on no point", func(d *memDirectory, _ *PlantConfig) { d.meters["D-INH"] = "P-GONE" },
			`meter or device "D-INH" does not belong to enterprise EN1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, cfg := full(), towerConfig()
			tc.change(&d, cfg)
			r, st := newRunner(d)
			err := r.RegisterPlant(context.Background(), cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := st.plants["PL1"]; !ok {
					t.Fatal("configuration not saved")
				}
				if _, err := r.Live("PL1"); err != nil {
					t.Fatalf("plant not running: %v", err)
				}
				return
			}
			if !errors.Is(err, store.ErrInvalid) || err.Error() != tc.want {
				t.Fatalf("got %v, want %q (store.ErrInvalid)", err, tc.want)
			}
			if len(st.plants) != 0 {
				t.Fatalf("refused configuration saved: %v", st.plants)
			}
		})
	}
	// An invalid configuration is still refused by Register's validation.
	bad := towerConfig()
	bad.StepS = -1
	r, st := newRunner(full())
	if err := r.RegisterPlant(context.Background(), bad); !errors.Is(err, store.ErrInvalid) || len(st.plants) != 0 {
		t.Fatalf("invalid configuration: %v, saved %d", err, len(st.plants))
	}
	// Without a directory nothing is registered.
	r, st = newRunner(nil)
	if err := r.RegisterPlant(context.Background(), towerConfig()); err == nil || len(st.plants) != 0 {
		t.Fatalf("registered without a directory: %v", err)
	}
}
