package leak

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is one line of a leak report (a BattLeDIM submission): the link
// where a leak is believed to be and the time it was detected.
type Report struct {
	Link string
	Time time.Time
	// Line is the 1-based line of the report in its file (0 if not read
	// from a file).
	Line int
}

// TrueLeak is a leak of the ground truth: its pipe, when it was active,
// and its outflow series.
type TrueLeak struct {
	Pipe       string
	Start, End time.Time
	// Outflow holds the leak's outflow in m³/h at every step of the
	// scoring period (ScoringRules.Step apart, from the period's start).
	Outflow []float64
}

// ScoringRules are the parameters of the BattLeDIM scoring algorithm.
type ScoringRules struct {
	// MaxDistance is the largest pipe-length distance (m) at which a
	// report still hits a leak.
	MaxDistance float64
	// WaterCost is the price of lost water (€/m³).
	WaterCost float64
	// CrewCost is the cost of sending a repair crew (€).
	CrewCost float64
	// Step is the time step of the outflow series.
	Step time.Duration
}

// BattLeDIMRules returns the rules of BattLeDIM 2020 (300 m, €0.80/m³,
// €500 per crew, 5-minute steps) from the package's parameter table.
func BattLeDIMRules() (ScoringRules, error) {
	var r ScoringRules
	var step float64
	for _, p := range []struct {
		key string
		dst *float64
	}{
		{"battledim_max_distance", &r.MaxDistance},
		{"battledim_water_cost", &r.WaterCost},
		{"battledim_crew_cost", &r.CrewCost},
		{"battledim_step", &step},
	} {
		v, err := parameter(p.key)
		if err != nil {
			return ScoringRules{}, err
		}
		*p.dst = v
	}
	r.Step = time.Duration(step) * time.Second
	return r, nil
}

// Outcome says how a report was judged.
type Outcome uint8

// Report outcomes.
const (
	// BeforePeriod: the report is dated before the scoring period and is
	// ignored (BattLeDIM drops reports dated in 2018).
	BeforePeriod Outcome = iota
	// TruePositive: the report is the first to hit a leak.
	TruePositive
	// Repeated: the report hits only leaks already credited; it scores 0.
	Repeated
	// FalsePositive: the report hits no leak; it costs a crew.
	FalsePositive
)

func (o Outcome) String() string {
	return [...]string{"ignored", "TP", "repeat", "FP"}[o%4]
}

// ScoredReport is a report with its judgement.
type ScoredReport struct {
	Report
	Outcome Outcome
	// Leak is the credited leak's pipe (TruePositive) or the nearest
	// already-credited leak hit (Repeated); empty otherwise.
	Leak      string
	LeakStart time.Time
	// Distance is the pipe-length distance (m) to Leak.
	Distance float64
	// Value is the report's score in €.
	Value float64
}

// ScoreResult is the outcome of scoring a set of reports.
type ScoreResult struct {
	// Reports are the scored reports in scoring order (by time, stable).
	Reports []ScoredReport
	Total   float64
	// TP, FP and FN count credited leaks, reports that hit nothing, and
	// leaks never credited.
	TP, FP, FN int
}

// Score applies the BattLeDIM 2020 scoring algorithm (Scoring_Algorithm.m
// and scoring_function.m of KIOS-Research/BattLeDIM) to reports, for leaks
// whose outflow series start at periodStart:
//
//  1. reports dated before periodStart are dropped; the rest are sorted by
//     time (stable);
//  2. a report hits leak L when L.Start ≤ t ≤ L.End and the distance
//     between the reported link and L's pipe is at most MaxDistance;
//  3. of the hit leaks not yet credited the nearest is credited, worth the
//     water it loses from the step before t to the end of the series
//     (MATLAB's sum(ts(td:end)) with td = steps since periodStart, td = 0
//     read as 1) times WaterCost, minus (x/MaxDistance)·CrewCost;
//  4. a report that hits only credited leaks scores 0; one that hits
//     nothing costs CrewCost.
func Score(g *PipeGraph, leaks []TrueLeak, periodStart time.Time, reports []Report, rules ScoringRules) (ScoreResult, error) {
	if rules.Step <= 0 || rules.MaxDistance <= 0 {
		return ScoreResult{}, errors.New("score: rules need a positive step and distance")
	}
	for _, l := range leaks {
		if !g.HasLink(l.Pipe) {
			return ScoreResult{}, fmt.Errorf("score: leak pipe %q is not in the network", l.Pipe)
		}
	}
	sorted := slices.Clone(reports)
	slices.SortStableFunc(sorted, func(a, b Report) int { return a.Time.Compare(b.Time) })

	var res ScoreResult
	credited := make([]bool, len(leaks))
	for _, rep := range sorted {
		s := ScoredReport{Report: rep, Distance: math.NaN()}
		if rep.Time.Before(periodStart) {
			res.Reports = append(res.Reports, s)
			continue
		}
		if !g.HasLink(rep.Link) {
			return ScoreResult{}, fmt.Errorf("score: report line %d: unknown link %q", rep.Line, rep.Link)
		}
		dist, err := g.DistancesFrom(rep.Link)
		if err != nil {
			return ScoreResult{}, err
		}
		best, bestCredited := -1, -1
		for i, l := range leaks {
			if rep.Time.Before(l.Start) || rep.Time.After(l.End) {
				continue
			}
			x := dist[g.linkIndex[l.Pipe]]
			if x > rules.MaxDistance {
				continue
			}
			if credited[i] {
				if bestCredited < 0 || x < dist[g.linkIndex[leaks[bestCredited].Pipe]] {
					bestCredited = i
				}
			} else if best < 0 || x < dist[g.linkIndex[leaks[best].Pipe]] {
				best = i
			}
		}
		switch {
		case best >= 0:
			l := leaks[best]
			credited[best] = true
			x := dist[g.linkIndex[l.Pipe]]
			td := int(rep.Time.Sub(periodStart) / rules.Step)
			first := max(td-1, 0)
			lost := 0.0
			for _, q := range l.Outflow[min(first, len(l.Outflow)):] {
				lost += q
			}
			stepsPerHour := float64(time.Hour) / float64(rules.Step)
			s.Outcome, s.Leak, s.LeakStart, s.Distance = TruePositive, l.Pipe, l.Start, x
			s.Value = lost/stepsPerHour*rules.WaterCost - x/rules.MaxDistance*rules.CrewCost
			res.TP++
		case bestCredited >= 0:
			l := leaks[bestCredited]
			s.Outcome, s.Leak, s.LeakStart, s.Distance = Repeated, l.Pipe, l.Start, dist[g.linkIndex[l.Pipe]]
		default:
			s.Outcome, s.Value = FalsePositive, -rules.CrewCost
			res.FP++
		}
		res.Total += s.Value
		res.Reports = append(res.Reports, s)
	}
	res.FN = len(leaks) - res.TP
	return res, nil
}

// reportTimeLayouts are the accepted report time formats.
var reportTimeLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseReports reads a BattLeDIM submission: one "linkID, YYYY-MM-DD hh:mm"
// per line (seconds optional; extra comma-separated fields ignored), with
// blank lines and lines starting with '#' skipped. Times are UTC. Errors
// name the line.
func ParseReports(r io.Reader) ([]Report, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	var out []Report
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) < 2 {
			return nil, fmt.Errorf("submission line %d: want \"linkID, YYYY-MM-DD hh:mm\", got %q", line, text)
		}
		link := strings.TrimSpace(fields[0])
		if link == "" || strings.ContainsAny(link, " \t") {
			return nil, fmt.Errorf("submission line %d: invalid link ID %q", line, link)
		}
		t, err := parseTime(strings.TrimSpace(fields[1]), reportTimeLayouts)
		if err != nil {
			return nil, fmt.Errorf("submission line %d: %w", line, err)
		}
		out = append(out, Report{Link: link, Time: t, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	return out, nil
}

func parseTime(s string, layouts []string) (time.Time, error) {
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q (want YYYY-MM-DD hh:mm[:ss])", s)
}

// ReadLeakInfo reads a ground-truth table with at least the columns pipe,
// start and end (times "YYYY-MM-DD hh:mm[:ss]", UTC), as
// battledim_2019_leak_info.csv. Outflow series are left empty.
func ReadLeakInfo(r io.Reader) ([]TrueLeak, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("leak info header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"pipe", "start", "end"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("leak info: no %q column", need)
		}
	}
	var out []TrueLeak
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("leak info: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < len(header) {
			return nil, fmt.Errorf("leak info line %d: %d fields, header has %d", line, len(rec), len(header))
		}
		l := TrueLeak{Pipe: strings.TrimSpace(rec[col["pipe"]])}
		if l.Start, err = parseTime(strings.TrimSpace(rec[col["start"]]), reportTimeLayouts); err != nil {
			return nil, fmt.Errorf("leak info line %d start: %w", line, err)
		}
		if l.End, err = parseTime(strings.TrimSpace(rec[col["end"]]), reportTimeLayouts); err != nil {
			return nil, fmt.Errorf("leak info line %d end: %w", line, err)
		}
		if l.End.Before(l.Start) {
			return nil, fmt.Errorf("leak info line %d: end before start", line)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errors.New("leak info: no leaks")
	}
	return out, nil
}

// ReadLeakOutflow reads per-leak outflow series (m³/h) as
// battledim_2019_leak_outflow_m3h.csv(.gz): a "timestamp" column, then any
// other columns, one column per leak pipe; rows must be consecutive steps.
// Gzip input is recognised by its magic bytes. It returns the first
// timestamp and the series by pipe.
func ReadLeakOutflow(r io.Reader, step time.Duration) (time.Time, map[string][]float64, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("leak outflow: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("leak outflow header: %w", err)
	}
	header = slices.Clone(header)
	if len(header) == 0 || strings.TrimSpace(header[0]) != "timestamp" {
		return time.Time{}, nil, errors.New("leak outflow: first column must be \"timestamp\"")
	}
	series := map[string][]float64{}
	var start, prev time.Time
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("leak outflow: %w", err)
		}
		line, _ := cr.FieldPos(0)
		t, err := parseTime(rec[0], reportTimeLayouts)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("leak outflow line %d: %w", line, err)
		}
		if row == 0 {
			start = t
		} else if t.Sub(prev) != step {
			return time.Time{}, nil, fmt.Errorf("leak outflow line %d: time %s is not one step after %s", line, rec[0], prev.Format(reportTimeLayouts[0]))
		}
		prev = t
		for c := 1; c < len(header); c++ {
			name := strings.TrimSpace(header[c])
			if name == "step" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[c]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return time.Time{}, nil, fmt.Errorf("leak outflow line %d column %s: invalid number %q", line, name, rec[c])
			}
			series[name] = append(series[name], v)
		}
	}
	if len(series) == 0 {
		return time.Time{}, nil, errors.New("leak outflow: no data")
	}
	return start, series, nil
}
