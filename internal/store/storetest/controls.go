package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/plant"
)

func testControls(t *testing.T, s controlStore) {
	ctx := context.Background()
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430300", Industry: "3120"}))
	if ps, err := s.Plants(ctx, ""); err != nil || len(ps) != 0 {
		t.Fatalf("plants before any: %v, %v", ps, err)
	}
	if _, err := s.Plant(ctx, "PL1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown plant: %v", err)
	}
	if cs, err := s.Commands(ctx, command.Query{}); err != nil || len(cs) != 0 {
		t.Fatalf("commands before any: %v, %v", cs, err)
	}
	if err := s.SavePlant(ctx, plant.Record{ID: "PL1", Enterprise: "nope", Config: []byte(`{}`), Updated: time.Unix(1, 0)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("plant of an unknown enterprise: %v", err)
	}
	if err := s.SavePlant(ctx, plant.Record{ID: "PL1", Enterprise: "E", Config: []byte(`{`), Updated: time.Unix(1, 0)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("plant with broken JSON: %v", err)
	}
	for _, cfg := range []string{`{"v":1}`, `{"v":2}`} {
		if err := s.SavePlant(ctx, plant.Record{ID: "PL1", Enterprise: "E", Config: []byte(cfg), Updated: time.Unix(2, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	req := 55.0
	for i := range 5 {
		c := command.Record{ID: fmt.Sprintf("C%d", i), Kind: command.KindIssue, Plant: "PL1", Enterprise: "E", Device: "D1",
			Actuator: "blowdown_valve", Value: float64(10 * i), Unit: "%", Requested: &req, Min: 0, Max: 100, Interlocks: []string{"rate"},
			Source: "controller", By: "cooling.blowdown", Inputs: []command.Input{{Name: "basin_cond_us_cm", Value: 2000, AgeS: 12}},
			Issued: base.Add(time.Duration(i) * time.Minute), Index: uint64(100 + i), Status: command.Pending}
		if i == 4 {
			c.Device, c.Actuator = "D2", "inhibitor_pump"
		}
		if err := s.SaveCommands(ctx, []command.Record{c}); err != nil {
			t.Fatal(err)
		}
	}
	c0, err := s.Command(ctx, "C0")
	if err != nil {
		t.Fatal(err)
	}
	c0.Status, c0.Answered, c0.OutcomeIndex, c0.Attempts = command.Acked, base.Add(time.Second), 200, 1
	if err := s.SaveCommands(ctx, []command.Record{c0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOverride(ctx, command.Override{Plant: "PL1", Actuator: "inhibitor_pump", Mode: command.ModeLocked, By: "admin", Since: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOverride(ctx, command.Override{Plant: "PL1", Actuator: "acid_pump", Mode: "sideways"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown mode: %v", err)
	}
	s2 := s
	p, err := s2.Plant(ctx, "PL1")
	if err != nil || string(p.Config) != `{"v":2}` || p.Enterprise != "E" {
		t.Fatalf("plant after reopen: %+v, %v", p, err)
	}
	tests := []struct {
		q    command.Query
		want []string
	}{
		{command.Query{}, []string{"C4", "C3", "C2", "C1", "C0"}},
		{command.Query{Device: "D1", Limit: 2}, []string{"C3", "C2"}},
		{command.Query{Actuator: "inhibitor_pump"}, []string{"C4"}},
		{command.Query{Plant: "PL1", From: base.Add(time.Minute), To: base.Add(3 * time.Minute)}, []string{"C2", "C1"}},
		{command.Query{Enterprise: "other"}, nil},
	}
	for i, tc := range tests {
		cs, err := s2.Commands(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("query %d: %v, want %v", i, got, tc.want)
		}
	}
	c0, err = s2.Command(ctx, "C0")
	if err != nil || c0.Status != command.Acked || c0.OutcomeIndex != 200 || *c0.Requested != 55 || c0.Inputs[0].AgeS != 12 {
		t.Fatalf("updated command: %+v, %v", c0, err)
	}
	os, err := s2.Overrides(ctx, "PL1")
	if err != nil || len(os) != 1 || os[0].Mode != command.ModeLocked {
		t.Fatalf("overrides: %+v, %v", os, err)
	}
	if err := s2.SetOverride(ctx, command.Override{Plant: "PL1", Actuator: "inhibitor_pump", Mode: command.ModeAuto}); err != nil {
		t.Fatal(err)
	}
	if os, _ := s2.Overrides(ctx, ""); len(os) != 0 {
		t.Fatalf("auto must remove the override: %+v", os)
	}
}
