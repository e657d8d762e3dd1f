package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/store"
)

type contractStore interface {
	store.Store
	store.Contracts
}

// ctrMonth returns local midnight of the first of a month of 2025 (13: 2026-01).
func ctrMonth(m int) time.Time { return time.Date(2025, time.Month(m), 1, 0, 0, 0, 0, shanghai) }

func fixtureContract(id, enterprise string, option contract.Option, points ...string) contract.Contract {
	return contract.Contract{ID: id, Name: "冷却塔改造", Enterprise: enterprise, ServiceCompany: "节水服务公司",
		Option: option, Points: points, Granularity: contract.Monthly,
		Baseline:            contract.Span{From: ctrMonth(1), To: ctrMonth(7)},
		Reporting:           []contract.Span{{From: ctrMonth(7), To: ctrMonth(10)}, {From: ctrMonth(10), To: ctrMonth(13)}},
		Drivers:             []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: "steel"}, {Name: "cdd", Kind: contract.DeclaredDriver}},
		ServiceCompanyShare: 0.6, Status: contract.Active}
}

// testContracts: contracts are stored whole, overlaps are refused with
// the reason and nothing written, statements are unique per period and
// sealed.
func testContracts(t *testing.T, s contractStore) {
	ctx := context.Background()
	fixture(t, s)
	c := fixtureContract("C-1", "E-XT-1", contract.WholeFacility)
	c.CreatedAt = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	must(t, s.CreateContract(ctx, c))
	got, err := s.Contract(ctx, "C-1")
	must(t, err)
	if got.Name != c.Name || !got.Baseline.From.Equal(c.Baseline.From) || len(got.Reporting) != 2 || got.Drivers[0].Product != "steel" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("stored contract %+v, want %+v", got, c)
	}
	wantErr(t, "duplicate contract", s.CreateContract(ctx, c), store.ErrExists)
	wantErr(t, "unknown enterprise", s.CreateContract(ctx, fixtureContract("C-9", "E-NONE", contract.WholeFacility)), store.ErrNotFound)
	bad := fixtureContract("C-8", "E-XT-2", contract.RetrofitIsolation)
	wantErr(t, "option B without points", s.CreateContract(ctx, bad), store.ErrInvalid)

	// A retrofit contract inside the whole-facility one overlaps it.
	err = s.CreateContract(ctx, fixtureContract("C-2", "E-XT-1", contract.RetrofitIsolation, "PT-2"))
	if !errors.Is(err, store.ErrConflict) || !errors.Is(err, contract.ErrOverlap) || !strings.Contains(err.Error(), "C-1") {
		t.Fatalf("overlapping contract: %v, want ErrConflict wrapping contract.ErrOverlap naming C-1", err)
	}
	if _, err := s.Contract(ctx, "C-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused contract was stored: %v", err)
	}
	// Another enterprise's contract does not.
	must(t, s.CreateContract(ctx, fixtureContract("C-3", "E-XT-2", contract.RetrofitIsolation, "PT-3")))
	all, err := s.Contracts(ctx, nil)
	must(t, err)
	if len(all) != 2 || all[0].ID != "C-1" || all[1].ID != "C-3" {
		t.Fatalf("contracts %v, want C-1, C-3", all)
	}
	some, err := s.Contracts(ctx, []string{"E-XT-2"})
	must(t, err)
	if len(some) != 1 || some[0].ID != "C-3" {
		t.Fatalf("contracts of E-XT-2: %v", some)
	}
	if none, err := s.Contracts(ctx, []string{}); err != nil || len(none) != 0 {
		t.Fatalf("contracts of no enterprise: %v %v", none, err)
	}

	// Declared driver values: appended, an overlap refused whole.
	v := contract.DeclaredValue{Driver: "cdd", From: ctrMonth(1), To: ctrMonth(2), Value: 12.5, Source: "湘潭站"}
	got, err = s.AddDeclared(ctx, "C-1", []contract.DeclaredValue{v})
	must(t, err)
	if len(got.Declared) != 1 {
		t.Fatalf("declared values %v", got.Declared)
	}
	w := v
	w.From, w.To = ctrMonth(2), ctrMonth(3)
	_, err = s.AddDeclared(ctx, "C-1", []contract.DeclaredValue{w, v})
	wantErr(t, "overlapping declared value", err, store.ErrInvalid)
	got, err = s.Contract(ctx, "C-1")
	must(t, err)
	if len(got.Declared) != 1 {
		t.Fatalf("a refused batch of declared values left %d values", len(got.Declared))
	}
	_, err = s.AddDeclared(ctx, "C-NONE", []contract.DeclaredValue{v})
	wantErr(t, "declared values of an unknown contract", err, store.ErrNotFound)

	// Statements.
	r := contract.Record{Statement: contract.Statement{Contract: "C-1", Enterprise: "E-XT-1", From: ctrMonth(7).UTC(), To: ctrMonth(10).UTC(),
		AdjustedBaselineM3: 1000, ReportingM3: 800, SavingsM3: 200, UncertaintyM3: 20, MeetsGuideline14: true,
		CheckpointSize: 42, CheckpointRoot: strings.Repeat("ab", 32)}, Option: contract.WholeFacility, Model: map[string]float64{"intercept": 1}}
	must(t, r.Statement.Seal())
	tampered := r
	tampered.Statement.SavingsM3 = 300
	wantErr(t, "statement whose digest does not match", s.AddStatement(ctx, tampered), store.ErrInvalid)
	must(t, s.AddStatement(ctx, r))
	again := r
	again.Statement.ReportingM3 = 801
	must(t, again.Statement.Seal())
	err = s.AddStatement(ctx, again)
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), r.Statement.ID) {
		t.Fatalf("second statement of a period: %v, want ErrExists naming %s", err, r.Statement.ID)
	}
	orphan := r
	orphan.Statement.Contract = "C-NONE"
	must(t, orphan.Statement.Seal())
	wantErr(t, "statement of an unknown contract", s.AddStatement(ctx, orphan), store.ErrNotFound)
	gr, err := s.StatementRecord(ctx, r.Statement.ID)
	must(t, err)
	if gr.Statement != r.Statement || gr.Model["intercept"] != 1 {
		t.Fatalf("stored statement %+v, want %+v", gr.Statement, r.Statement)
	}
	if err := gr.Statement.CheckSeal(); err != nil {
		t.Fatalf("stored statement's seal: %v", err)
	}
	_, err = s.StatementRecord(ctx, "mvs-0000000000000000")
	wantErr(t, "unknown statement", err, store.ErrNotFound)
	rs, err := s.StatementRecords(ctx, "C-1")
	must(t, err)
	if len(rs) != 1 || rs[0].Statement.ID != r.Statement.ID {
		t.Fatalf("statements of C-1: %v", rs)
	}
}
