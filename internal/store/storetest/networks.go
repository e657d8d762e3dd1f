package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/workorder"
)

func testNetworksPutListAndScope(t *testing.T, s networkStore) {
	ctx := context.Background()
	// Reads before the tables exist see nothing.
	if _, err := s.Network(ctx, "N1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("network before any write: %v", err)
	}
	if ns, err := s.Networks(ctx, store.NetworkFilter{}); err != nil || len(ns) != 0 {
		t.Fatalf("networks before any write: %v, %v", ns, err)
	}
	if ws, err := s.WorkOrders(ctx, workorder.Filter{}); err != nil || len(ws) != 0 {
		t.Fatalf("work orders before any write: %v, %v", ws, err)
	}
	if err := s.CreatePark(ctx, meter.Park{ID: "PK1", Name: "园区", Region: "430300"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnterprise(ctx, meter.Enterprise{ID: "UT1", Name: "供水", Park: "PK1", Region: "430300"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	good := store.Network{ID: "N1", Name: "管网", Park: "PK1", Enterprise: "UT1", INP: "[TITLE]\n[END]\n", Config: json.RawMessage(`{"sensors":[]}`), Updated: t0}
	for _, tc := range []struct {
		name string
		edit func(n *store.Network)
		want error
	}{
		{"bad id", func(n *store.Network) { n.ID = "a b" }, store.ErrInvalid},
		{"no name", func(n *store.Network) { n.Name = "" }, store.ErrInvalid},
		{"no scope", func(n *store.Network) { n.Park, n.Enterprise = "", "" }, store.ErrInvalid},
		{"no inp", func(n *store.Network) { n.INP = "" }, store.ErrInvalid},
		{"bad config", func(n *store.Network) { n.Config = json.RawMessage(`{`) }, store.ErrInvalid},
		{"unknown park", func(n *store.Network) { n.Park = "PK9" }, store.ErrNotFound},
		{"unknown enterprise", func(n *store.Network) { n.Enterprise = "E9" }, store.ErrNotFound},
	} {
		n := good
		tc.edit(&n)
		if _, err := s.PutNetwork(ctx, n); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	created, err := s.PutNetwork(ctx, good)
	if err != nil || !created {
		t.Fatalf("first put: %v, created %v", err, created)
	}
	second := good
	second.Name, second.Updated, second.Created = "管网二", t0.Add(time.Hour), t0.Add(time.Hour)
	if created, err := s.PutNetwork(ctx, second); err != nil || created {
		t.Fatalf("replace: %v, created %v", err, created)
	}
	other := good
	other.ID, other.Enterprise = "N2", ""
	if _, err := s.PutNetwork(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.Network(ctx, "N1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "管网二" || !got.Created.Equal(t0) || !got.Updated.Equal(t0.Add(time.Hour)) || got.INP != good.INP || string(got.Config) != string(good.Config) {
		t.Fatalf("after replace and reopen: %+v", got)
	}
	for _, tc := range []struct {
		f    store.NetworkFilter
		want []string
	}{
		{store.NetworkFilter{}, []string{"N1", "N2"}},
		{store.NetworkFilter{Park: "PK1"}, []string{"N1", "N2"}},
		{store.NetworkFilter{Enterprise: "UT1"}, []string{"N1"}},
		{store.NetworkFilter{Park: "PK2"}, nil},
	} {
		ns, err := s.Networks(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		if len(ids) != len(tc.want) || (len(ids) > 0 && (ids[0] != tc.want[0] || ids[len(ids)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("filter %+v: got %v, want %v", tc.f, ids, tc.want)
		}
	}
}

func testLeakEventsAndWorkOrders(t *testing.T, s networkStore) {
	ctx := context.Background()
	if err := s.CreatePark(ctx, meter.Park{ID: "PK1", Name: "园区", Region: "430300"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutNetwork(ctx, store.Network{ID: "N1", Name: "管网", Park: "PK1", INP: "x", Config: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if _, err := s.LeakEvent(ctx, 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown leak event: %v", err)
	}
	if err := s.RecordLeak(ctx, alarm.Leak{Alarm: 7, Network: "N1"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("leak event without times: %v", err)
	}
	for i, flow := range []float64{12.5, 9.75} {
		ev := alarm.Leak{Alarm: int64(7 + i), Network: "N1", Start: t0, Detected: t0.Add(20 * time.Minute), Raised: t0.Add(time.Duration(50+i) * time.Minute), FlowM3H: flow,
			Candidates: []alarm.LeakCandidate{{Rank: 1, Link: "P1", Node: "J1", FlowM3H: flow, Misfit: 0.5}, {Rank: 2, Link: "P2", Node: "J2", FlowM3H: flow + 1, Misfit: 0.9}}}
		if err := s.RecordLeak(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.LeakEvents(ctx, "N1", 0)
	if err != nil || len(evs) != 2 || evs[0].Alarm != 8 || evs[1].FlowM3H != 12.5 || len(evs[1].Candidates) != 2 || evs[1].Candidates[1].Link != "P2" || !evs[1].Start.Equal(t0) {
		t.Fatalf("leak events: %+v, %v", evs, err)
	}

	wo := workorder.Order{Network: "N1", Alarm: 7, Park: "PK1", Title: "抢修 P1", Created: t0.Add(time.Hour), CreatedBy: "ops", LeakStart: t0, LeakFlowM3H: 12.5}
	if _, err := s.CreateWorkOrder(ctx, workorder.Order{Network: "N9", Title: "x", Created: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("order on an unknown network: %v", err)
	}
	if _, err := s.CreateWorkOrder(ctx, workorder.Order{Network: "N1", Created: t0}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("order without a title: %v", err)
	}
	w, err := s.CreateWorkOrder(ctx, wo)
	if err != nil || w.ID == 0 || w.State != workorder.Open || !w.LeakStart.Equal(t0) {
		t.Fatalf("create: %+v, %v", w, err)
	}
	if _, err := s.CreateWorkOrder(ctx, wo); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second open order for the same alarm: %v", err)
	}
	if _, err := s.AssignWorkOrder(ctx, w.ID, "", "ops", t0, ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("assign to nobody: %v", err)
	}
	w, err = s.AssignWorkOrder(ctx, w.ID, "维修一班", "ops", t0.Add(2*time.Hour), "带探漏仪")
	if err != nil || w.State != workorder.Assigned || w.Assignee != "维修一班" || !w.Assigned.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("assign: %+v, %v", w, err)
	}
	if open, err := s.WorkOrders(ctx, workorder.Filter{Open: true, Network: "N1"}); err != nil || len(open) != 1 {
		t.Fatalf("open orders: %v, %v", open, err)
	}
	w, err = s.CloseWorkOrder(ctx, w.ID, "维修一班", t0.Add(5*time.Hour), "P1", "更换 2 m 管段", 62.5)
	if err != nil || w.State != workorder.Closed || w.RepairedLink != "P1" || w.WaterLostM3 != 62.5 || w.Note != "更换 2 m 管段" {
		t.Fatalf("close: %+v, %v", w, err)
	}
	for _, op := range []func() error{
		func() error { _, err := s.CloseWorkOrder(ctx, w.ID, "x", t0, "P1", "", 1); return err },
		func() error { _, err := s.AssignWorkOrder(ctx, w.ID, "x", "x", t0, ""); return err },
	} {
		if err := op(); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("change of a closed order: %v", err)
		}
	}
	if _, err := s.CloseWorkOrder(ctx, 999, "x", t0, "", "", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("close unknown order: %v", err)
	}
	// The alarm is free for a new order once the first is closed.
	if _, err := s.CreateWorkOrder(ctx, wo); err != nil {
		t.Fatalf("new order after closing: %v", err)
	}
	hist, err := s.WorkOrderHistory(ctx, w.ID)
	if err != nil || len(hist) != 3 || hist[0].Action != "create" || hist[1].Assignee != "维修一班" || hist[2].Link != "P1" {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	for _, tc := range []struct {
		f    workorder.Filter
		want int
	}{
		{workorder.Filter{}, 2},
		{workorder.Filter{State: workorder.Closed}, 1},
		{workorder.Filter{Open: true}, 1},
		{workorder.Filter{Alarm: 7}, 2},
		{workorder.Filter{Park: "PK2"}, 0},
		{workorder.Filter{Limit: 1}, 1},
	} {
		got, err := s.WorkOrders(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("filter %+v: %d orders (%v), want %d", tc.f, len(got), err, tc.want)
		}
	}
}
