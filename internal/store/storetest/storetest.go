// Package storetest is the conformance suite every store.Store must pass:
// registry and tenant filters, atomic idempotent commits, admission state,
// paging, aggregates and consumption, each point's first reading (property and golden tests with
// shuffled, duplicated, late, rolling-over and reset totalisers, a gap and a
// meter replacement), the reading validity rule, rejections, quarantined
// ledger entries, alarms (raised and cleared in batches as one by one), tokens, the audit log, production records and
// retrofit cases.
//
// An implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
//
// The factory returns a fresh, empty store using Asia/Shanghai as its default
// zone, closed by the factory's own t.Cleanup. If the store is a
// store.Compacter the suite checks every query before, during and after
// compaction.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// The interfaces a server's store implements beside store.Store.
type (
	networkStore interface {
		store.Store
		store.Networks
	}
	controlStore interface {
		store.Store
		store.Controls
	}
	deviceStore interface {
		store.Store
		store.DeviceSecrets
	}
)

// Factory opens a fresh, empty store.
type Factory func(t *testing.T) store.Store

// Run runs the whole suite; ways are the driver's other ways of reading
// its pre-totals, checked beside its own (ConsumptionTotals).
func Run(t *testing.T, open Factory, ways ...TotalsWay) {
	t.Run("Registry", func(t *testing.T) { testRegistry(t, open(t)) })
	t.Run("Commit", func(t *testing.T) { testCommit(t, open(t)) })
	t.Run("Readings", func(t *testing.T) { testReadings(t, open(t)) })
	t.Run("Aggregates", func(t *testing.T) { testAggregates(t, open(t)) })
	t.Run("IntervalTotals", func(t *testing.T) { testIntervalTotals(t, open(t)) })
	t.Run("FirstReadings", func(t *testing.T) { testFirstReadings(t, open(t)) })
	t.Run("ConsumptionGolden", func(t *testing.T) { testConsumptionGolden(t, open(t)) })
	t.Run("ConsumptionProperties", func(t *testing.T) { testConsumptionProperties(t, open) })
	t.Run("Rejections", func(t *testing.T) { testRejections(t, open(t)) })
	t.Run("Validity", func(t *testing.T) { testValidity(t, open(t)) })
	t.Run("Quarantine", func(t *testing.T) { testQuarantine(t, open(t)) })
	t.Run("Alarms", func(t *testing.T) { testAlarms(t, open(t)) })
	t.Run("AlarmBatches", func(t *testing.T) { testAlarmBatches(t, open(t), open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("HostileBytes", func(t *testing.T) { testHostileBytes(t, open(t)) })
	t.Run("Gateways", func(t *testing.T) { testGateways(t, open(t)) })
	t.Run("BulkRegistry", func(t *testing.T) { testBulkRegistry(t, open(t)) })
	t.Run("BulkSecrets", func(t *testing.T) { testBulkSecrets(t, open(t)) })
	// The interfaces a server needs beside store.Store.
	t.Run("Networks", func(t *testing.T) {
		if s, ok := open(t).(networkStore); ok {
			testNetworksPutListAndScope(t, s)
		} else {
			t.Fatal("the store does not implement store.Networks")
		}
	})
	t.Run("WorkOrders", func(t *testing.T) {
		if s, ok := open(t).(networkStore); ok {
			testLeakEventsAndWorkOrders(t, s)
		} else {
			t.Fatal("the store does not implement store.Networks")
		}
	})
	t.Run("Controls", func(t *testing.T) {
		if s, ok := open(t).(controlStore); ok {
			testControls(t, s)
		} else {
			t.Fatal("the store does not implement store.Controls")
		}
	})
	t.Run("DeviceSecrets", func(t *testing.T) {
		if s, ok := open(t).(deviceStore); ok {
			testDeviceSecrets(t, s)
		} else {
			t.Fatal("the store does not implement store.DeviceSecrets")
		}
	})
	t.Run("Production", func(t *testing.T) { testProduction(t, open(t)) })
	t.Run("QuotaCases", func(t *testing.T) { testQuotaCases(t, open(t)) })
	// Water-rights certificate entries (helper certs).
	t.Run("Certificates", func(t *testing.T) {
		if s, ok := open(t).(certificateStore); ok {
			testCertificates(t, s)
		} else {
			t.Fatal("the store does not implement store.Certificates")
		}
	})
	// Water-use plans and withdrawal permits (store.Plans).
	t.Run("Plans", func(t *testing.T) {
		if s, ok := open(t).(planStore); ok {
			testPlans(t, s)
		} else {
			t.Fatal("the store does not implement store.Plans")
		}
	})
	// Contract water saving (helper mv): contracts and M&V statements.
	t.Run("Contracts", func(t *testing.T) {
		if s, ok := open(t).(contractStore); ok {
			testContracts(t, s)
		} else {
			t.Fatal("the store does not implement store.Contracts")
		}
	})
	// The plan's registries and the evaluation's answers (registries.go).
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open(t)) })
	t.Run("EvaluationAnswers", func(t *testing.T) { testEvaluationAnswers(t, open(t)) })
	// Consumption pre-totals (store.TotalsReader).
	t.Run("ConsumptionTotals", func(t *testing.T) { ConsumptionTotals(t, open, ways...) })
	t.Run("ManySeries", func(t *testing.T) { testManySeries(t, open(t)) })
}

// shanghai is a fixed UTC+8 zone so the suite does not need a tz database.
var shanghai = time.FixedZone("CST", 8*3600)

// day returns local midnight of 2026-11-d in Shanghai.
func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, shanghai) }

// Channels used by the fixtures.
var (
	chTotal = meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Min: 0, Max: 1e6}
	chFlow  = meter.Channel{Name: "flow_m3h", Quantity: "flow", Unit: "m3/h", Kind: meter.Rate, Min: 0, Max: 1e4}
	chDaily = meter.Channel{Name: "vol_day_m3", Quantity: "volume", Unit: "m3", Kind: meter.Interval, Min: 0, Max: 1e6}
)

// fixture registers two cities' parks, enterprises, points and meters:
//
//	430300 湘潭: park P-XT with enterprises E-XT-1 (points PT-1 intake, PT-2 use) and E-XT-2 (PT-3 intake)
//	430100 长沙: park P-CS with enterprise E-CS-1 (PT-4 discharge)
//
// meters M-1 on PT-1, M-2 on PT-2, M-3 on PT-3, M-4 on PT-4.
func fixture(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省", NameEN: "Hunan"}))
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市", NameEN: "Xiangtan", Parent: "430000"}))
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430100", Name: "长沙市", NameEN: "Changsha", Parent: "430000"}))
	must(t, s.CreatePark(ctx, meter.Park{ID: "P-XT", Name: "湘潭经开区", Region: "430300", Industries: []string{"3120"}}))
	must(t, s.CreatePark(ctx, meter.Park{ID: "P-CS", Name: "长沙经开区", Region: "430100"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E-XT-1", Name: "湘钢", Park: "P-XT", Region: "430302", Industry: "3120", Products: []string{"steel"}}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E-XT-2", Name: "电化", Park: "P-XT", Region: "430304", Industry: "2613"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E-CS-1", Name: "长沙一厂", Park: "P-CS", Region: "430121", Industry: "2710"}))
	points := []meter.Point{
		{ID: "PT-1", Enterprise: "E-XT-1", Name: "取水总表", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceSurface, Channels: []meter.Channel{chTotal, chFlow, chDaily}},
		{ID: "PT-2", Enterprise: "E-XT-1", Name: "车间", Level: meter.Level2, Stage: meter.StageUse, Parent: "PT-1", Purpose: meter.PurposeIndirectCooling, Channels: []meter.Channel{chTotal, chFlow}},
		{ID: "PT-3", Enterprise: "E-XT-2", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{chTotal}},
		{ID: "PT-4", Enterprise: "E-CS-1", Name: "排口", Level: meter.Level1, Stage: meter.StageDischarge, Channels: []meter.Channel{chTotal, chFlow}},
	}
	for _, p := range points {
		must(t, s.CreatePoint(ctx, p))
	}
	for i, pt := range []string{"PT-1", "PT-2", "PT-3", "PT-4"} {
		must(t, s.CreateMeter(ctx, newMeter(t, "M-"+string(rune('1'+i)), pt)))
	}
}

func newMeter(t *testing.T, id, point string) meter.Meter {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	return meter.Meter{ID: id, Point: point, Key: vkey, Signed: meter.SignedByMeter, Registered: day(1), Interval: time.Minute}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rd builds a reading; its hash is derived from its content so that equal
// readings hash equal.
func rd(m string, seq uint64, at time.Time, index uint64, vals ...store.Value) store.Reading {
	r := store.Reading{Meter: m, Seq: seq, Time: at, Received: at.Add(time.Second), Index: index, Values: vals}
	h := sha256.New()
	h.Write([]byte(m))
	h.Write([]byte(at.UTC().Format(time.RFC3339Nano)))
	for _, v := range vals {
		h.Write([]byte(v.Channel))
		var b [8]byte
		for i, x := 0, uint64(v.Value*1e6); i < 8; i++ {
			b[i] = byte(x >> (8 * i))
		}
		h.Write(b[:])
	}
	var seqb [8]byte
	for i := 0; i < 8; i++ {
		seqb[i] = byte(seq >> (8 * i))
	}
	h.Write(seqb[:])
	copy(r.Hash[:], h.Sum(nil))
	return r
}

func total(v float64) store.Value { return store.Value{Channel: "total_m3", Value: v} }
func flow(v float64) store.Value  { return store.Value{Channel: "flow_m3h", Value: v} }

// compact compacts if the store can.
func compact(t *testing.T, s store.Store) bool {
	t.Helper()
	c, ok := s.(store.Compacter)
	if ok {
		must(t, c.Compact(context.Background()))
	}
	return ok
}
