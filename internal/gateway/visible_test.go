package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

type listerStub struct {
	gateways    []meter.Gateway
	enterprises map[string]meter.Enterprise
	err         error
}

func (l listerStub) Gateways(context.Context) ([]meter.Gateway, error) { return l.gateways, l.err }

func (l listerStub) Enterprise(_ context.Context, id string) (meter.Enterprise, error) {
	e, ok := l.enterprises[id]
	if !ok {
		return e, fmt.Errorf("enterprise %s: %w", id, store.ErrNotFound)
	}
	return e, nil
}

// TestVisible checks which gateways a caller sees: the server's own always,
// an edge box only with its enterprise, none of an enterprise not found.
func TestVisible(t *testing.T) {
	st := listerStub{
		gateways: []meter.Gateway{{ID: "GW-SERVER"}, {ID: "GW-E1", Enterprise: "E1"}, {ID: "GW-E2", Enterprise: "E2"},
			{ID: "GW-GONE", Enterprise: "E9"}},
		enterprises: map[string]meter.Enterprise{"E1": {ID: "E1", Park: "PK1"}, "E2": {ID: "E2", Park: "PK2"}},
	}
	ids := func(gs []meter.Gateway) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		sees func(meter.Enterprise) bool
		want []string
	}{
		{"sees all", nil, []string{"GW-SERVER", "GW-E1", "GW-E2", "GW-GONE"}},
		{"park PK1", func(e meter.Enterprise) bool { return e.Park == "PK1" }, []string{"GW-SERVER", "GW-E1"}},
		{"enterprise E2", func(e meter.Enterprise) bool { return e.ID == "E2" }, []string{"GW-SERVER", "GW-E2"}},
		{"sees no enterprise", func(meter.Enterprise) bool { return false }, []string{"GW-SERVER"}},
	} {
		gs, err := Visible(context.Background(), st, tc.sees)
		if err != nil || !slices.Equal(ids(gs), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, ids(gs), err, tc.want)
		}
	}
	if gs, err := Visible(context.Background(), listerStub{}, nil); err != nil || gs == nil || len(gs) != 0 {
		t.Errorf("no gateways: %#v, %v; want an empty list", gs, err)
	}
	broken := errors.New("disk")
	if _, err := Visible(context.Background(), listerStub{err: broken}, nil); !errors.Is(err, broken) {
		t.Errorf("store error: %v", err)
	}
}
