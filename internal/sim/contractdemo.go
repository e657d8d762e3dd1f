package sim

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// The demo's contract-water-saving story (合同节水管理, helper mv): a dye
// works of Xiangtan whose intake follows its monthly output, metered daily
// over fourteen months (a register reading a day); a retrofit by a water-saving service company lowers
// the intake by RetrofitSaving from the first reporting month on; a new
// rinse line adds NewLineM3 in the second reporting month, recorded as a
// non-routine adjustment. Everything here is simulated: the output, the
// intake model, its noise and the retrofit; the readings are signed by the
// simulated meter's own key and logged like any other.
const (
	ContractDemoID         = "CWS-DEMO-1"
	contractDemoPark       = "PK-MV"
	contractDemoEnterprise = "HN-MV-01"
	contractDemoPoint      = "HN-MV-01-IN"
	contractDemoMeter      = "MV-HN-MV-01-IN"
	contractDemoProduct    = "机织印染布" // a plan product, output in 100 m
	// RetrofitSaving is the simulated retrofit's share of the intake saved.
	RetrofitSaving = 0.12
	// NewLineM3 is the simulated new rinse line's intake in the second
	// reporting month (a non-routine change of the baseline conditions).
	NewLineM3 = 600.0
)

var cst = time.FixedZone("CST", 8*3600)

// contractDemoOutput is the simulated output of the month starting at m (100 m).
func contractDemoOutput(m time.Time, rng *mrand.Rand) float64 {
	return 9000 + 1500*math.Sin(2*math.Pi*float64(m.Month())/12) + 400*(rng.Float64()-0.5)
}

// contractDemoIntake is the simulated intake of a month (m³): 3000 m³ plus
// 0.9 m³ per 100 m of output, ±1.5 % noise.
func contractDemoIntake(output float64, rng *mrand.Rand) float64 {
	return (3000 + 0.9*output) * (1 + 0.03*(rng.Float64()-0.5))
}

// SeedContract seeds the story through the API with the admin token, at
// now: the enterprise, its intake point and meter, daily signed readings
// from fourteen months before the current month to its start, the monthly
// output records, the contract (baseline: the twelve months before the
// last two; reporting: each of the last two months) and, once the ledger's
// checkpoint covers the readings, the two statements. It returns the
// statements' IDs. Run again on the same data, it returns the statements
// already issued.
func SeedContract(ctx context.Context, a *API, now time.Time, seed int64) ([]string, error) {
	var existing struct {
		Statements []struct {
			ID string `json:"id"`
		} `json:"statements"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/contracts/"+ContractDemoID, nil, &existing); err == nil && len(existing.Statements) == 2 {
		return []string{existing.Statements[0].ID, existing.Statements[1].ID}, nil
	}
	l := now.In(cst)
	m0 := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, cst)
	first := m0.AddDate(0, -14, 0)
	rng := mrand.New(mrand.NewPCG(uint64(seed), 0x6d76))
	total, _ := meter.StandardChannel("total_m3")
	if err := a.CreatePark(ctx, meter.Park{ID: contractDemoPark, Name: "湘潭节水示范园", NameEN: "Xiangtan water-saving demo park", Region: "430300"}); err != nil && !IsExists(err) {
		return nil, err
	}
	if err := a.CreateEnterprise(ctx, meter.Enterprise{ID: contractDemoEnterprise, Name: "湘潭示范印染厂", NameEN: "Xiangtan demo dye works",
		Park: contractDemoPark, Region: "430300", Industry: "1713", Products: []string{contractDemoProduct}}); err != nil && !IsExists(err) {
		return nil, err
	}
	if err := a.CreatePoint(ctx, meter.Point{ID: contractDemoPoint, Enterprise: contractDemoEnterprise, Name: "取水总表", Level: meter.Level1,
		Stage: meter.StageIntake, Source: meter.SourceSurface, Channels: []meter.Channel{total}}); err != nil && !IsExists(err) {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(contractDemoMeter))
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	if _, _, err := a.RegisterMeter(ctx, MeterRegistration{ID: contractDemoMeter, Point: contractDemoPoint, Key: vkey, Signed: "meter", IntervalS: 3600}); err != nil {
		return nil, fmt.Errorf("register the demo contract's meter (a data directory seeded before keeps its key: start on a new one): %w", err)
	}

	// Monthly output and intake, then daily readings of the register.
	var recs []map[string]any
	var notes []string
	var prev [32]byte
	var seq uint64
	reg := 10000.0
	sign := func(at time.Time, v float64) error {
		seq++
		r := &reading.Reading{Meter: contractDemoMeter, Seq: seq, Time: at, Prev: prev, Point: contractDemoPoint,
			Values: []reading.Value{{Channel: "total_m3", Value: math.Round(v*1000) / 1000}}}
		msg, err := reading.Sign(r, signer)
		if err != nil {
			return err
		}
		prev = reading.HashOf(msg)
		notes = append(notes, string(msg))
		return nil
	}
	for m := first; m.Before(m0); m = m.AddDate(0, 1, 0) {
		out := contractDemoOutput(m, rng)
		in := contractDemoIntake(out, rng)
		if !m.Before(m0.AddDate(0, -2, 0)) {
			in *= 1 - RetrofitSaving
		}
		if m.Equal(m0.AddDate(0, -1, 0)) {
			in += NewLineM3
		}
		recs = append(recs, map[string]any{"enterprise": contractDemoEnterprise, "kind": "output", "product": contractDemoProduct,
			"quantity": math.Round(out), "unit": "100m", "from": m.Format(time.DateOnly), "to": m.AddDate(0, 1, -1).Format(time.DateOnly),
			"note": "模拟数据 / simulated"})
		// One reading a day, at midnight: the hours between two readings
		// are apportioned by package consumption (valid, the pair spans
		// them), and few readings arriving late raise few skew events.
		next := m.AddDate(0, 1, 0)
		perDay := in / next.Sub(m).Hours() * 24
		for at := m; at.Before(next); at = at.AddDate(0, 0, 1) {
			if err := sign(at, reg); err != nil {
				return nil, err
			}
			reg += perDay
		}
	}
	if err := sign(m0, reg); err != nil {
		return nil, err
	}
	var last int64
	for i := 0; i < len(notes); i += 500 {
		var res struct {
			Results []struct {
				Index *int64 `json:"index"`
				Error string `json:"error"`
			} `json:"results"`
		}
		if err := a.do(ctx, http.MethodPost, "/api/v1/ingest", map[string]any{"readings": notes[i:min(i+500, len(notes))]}, &res); err != nil {
			return nil, fmt.Errorf("ingest the demo contract's readings: %w", err)
		}
		for _, r := range res.Results {
			if r.Index == nil {
				return nil, fmt.Errorf("a demo contract reading was refused: %s", r.Error)
			}
			last = max(last, *r.Index)
		}
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/production", recs, nil); err != nil {
		return nil, fmt.Errorf("report the demo contract's output: %w", err)
	}
	span := func(from, to time.Time) map[string]time.Time { return map[string]time.Time{"from": from, "to": to} }
	c := map[string]any{"id": ContractDemoID, "name": "印染废水回用与逆流漂洗改造", "enterprise": contractDemoEnterprise,
		"service_company": "湖南湘江节水服务有限公司（模拟）", "option": "C", "granularity": "month",
		"baseline":              span(first, m0.AddDate(0, -2, 0)),
		"reporting":             []map[string]time.Time{span(m0.AddDate(0, -2, 0), m0.AddDate(0, -1, 0)), span(m0.AddDate(0, -1, 0), m0)},
		"drivers":               []map[string]string{{"name": "production", "kind": "output", "product": contractDemoProduct, "unit": "100m"}},
		"service_company_share": 0.6}
	if err := a.do(ctx, http.MethodPost, "/api/v1/contracts", c, nil); err != nil && !IsExists(err) {
		return nil, fmt.Errorf("create the demo contract: %w", err)
	}
	// A statement names the checkpoint it was read at: wait until the
	// signed checkpoint covers the readings.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		var st struct {
			CheckpointSize int64 `json:"checkpoint_size"`
		}
		if err := a.do(ctx, http.MethodGet, "/api/v1/ledger/status", nil, &st); err == nil && st.CheckpointSize > last {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the ledger's checkpoint does not cover entry %d after 2 minutes", last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	clearBackfillSkew(ctx, a, len(notes))
	var ids []string
	for k, body := range []map[string]any{{"period": 1}, {"period": 2, "adjustments": []map[string]any{{"period": m0.AddDate(0, -1, 0).Format("2006-01"),
		"m3": NewLineM3, "reason": "新增一条水洗线（模拟），基准模型未包含 / a new rinse line (simulated), outside the baseline model"}}}} {
		var rec struct {
			Statement struct {
				ID string `json:"id"`
			} `json:"statement"`
		}
		if err := a.do(ctx, http.MethodPost, "/api/v1/contracts/"+ContractDemoID+"/statements", body, &rec); err != nil {
			return nil, fmt.Errorf("issue the demo statement %d: %w", k+1, err)
		}
		ids = append(ids, rec.Statement.ID)
	}
	return ids, nil
}

// clearBackfillSkew clears the skew alarm the history raised: it arrived
// long after its readings' time, so ingest flagged every reading (clock
// skew) and the alarm monitor counts them on the meter's skew alarm. The
// backfill is by design here: once the monitor has counted all n readings
// (or after a minute), the alarm is cleared with that note; its history
// keeps it.
func clearBackfillSkew(ctx context.Context, a *API, n int) {
	type row struct {
		ID    int64 `json:"id"`
		Count int   `json:"count"`
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		var alarms []row
		if err := a.do(ctx, http.MethodGet, "/api/v1/alarms?state=active&kind=skew&meter="+contractDemoMeter, nil, &alarms); err != nil {
			return
		}
		if len(alarms) == 1 && alarms[0].Count >= n {
			_ = a.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/alarms/%d/clear", alarms[0].ID), map[string]string{
				"note": "合同节水示例的模拟历史数据为事后补传 / the contract demo's simulated history was uploaded after the fact"}, nil)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}
