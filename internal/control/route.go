package control

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/reuse"
)

// RoutingConfig sends the train's treated water to production uses by
// quality class (reuse.Route): every step the streams' live quality is
// checked against each use's class, the available flow is allocated by
// priority, and each use's reuse valve is opened or closed accordingly.
type RoutingConfig struct {
	Streams []RouteStream `json:"streams"`
	Uses    []RouteUse    `json:"uses"`
	// StaleAfterS: a quality or flow reading older than this (process s)
	// counts as not measured, and unmeasured water goes to no use.
	StaleAfterS float64 `json:"stale_after_s"`
}

// RouteStream is a treated-water stream: its flow sensor, the online
// analysers of its quality keyed by the parameter names of
// reuse/data/quality_classes.csv (a sensor's Scale converts, e.g.
// conductivity to TDS), and the latest laboratory analysis for the
// parameters no analyser measures.
type RouteStream struct {
	Name    string             `json:"name"`
	Label   string             `json:"label,omitempty"`
	LabelEN string             `json:"label_en,omitempty"`
	Flow    Sensor             `json:"flow"`
	Quality map[string]Sensor  `json:"quality"`
	Lab     map[string]float64 `json:"lab,omitempty"`
}

// RouteUse is a production use of reclaimed water: its design demand, its
// priority (lower is served first), the quality class it needs, limits of
// its own, and the valve that admits reuse water to it (fresh water makes
// up what it does not get).
type RouteUse struct {
	Name      string                 `json:"name"`
	Label     string                 `json:"label,omitempty"`
	LabelEN   string                 `json:"label_en,omitempty"`
	DemandM3h float64                `json:"demand_m3h"`
	Priority  int                    `json:"priority"`
	Class     string                 `json:"class"`
	Limits    map[string]reuse.Range `json:"limits,omitempty"`
	Valve     string                 `json:"valve,omitempty"`
}

// validate checks a routing configuration against the quality classes and
// the plant's actuators.
func (rc *RoutingConfig) validate(classes reuse.Classes, acts map[string]actuate.Actuator) error {
	var errs []error
	if len(rc.Streams) == 0 || len(rc.Uses) == 0 {
		errs = append(errs, errors.New("needs at least one stream and one use"))
	}
	if !(rc.StaleAfterS > 0) || math.IsInf(rc.StaleAfterS, 0) {
		errs = append(errs, errors.New("stale_after_s must be positive"))
	}
	names := map[string]bool{}
	name := func(what, n string) {
		if !reading.ValidChannel(n) {
			errs = append(errs, fmt.Errorf("%s name %q must be 1-32 of [a-z0-9_]", what, n))
		}
		if names[what+n] {
			errs = append(errs, fmt.Errorf("%s %s listed twice", what, n))
		}
		names[what+n] = true
	}
	for _, s := range rc.Streams {
		name("stream", s.Name)
		if !s.Flow.Set() || s.Flow.Channel == "" {
			errs = append(errs, fmt.Errorf("stream %s: a flow sensor is required", s.Name))
		}
		for k, sn := range s.Quality {
			if !sn.Set() || sn.Channel == "" || !finite(sn.Scale) {
				errs = append(errs, fmt.Errorf("stream %s: quality %s: meter and channel are required", s.Name, k))
			}
		}
		for k, v := range s.Lab {
			if !finite(v) {
				errs = append(errs, fmt.Errorf("stream %s: laboratory %s is not a number", s.Name, k))
			}
		}
	}
	for _, u := range rc.Uses {
		name("use", u.Name)
		if !(u.DemandM3h >= 0) || math.IsInf(u.DemandM3h, 0) {
			errs = append(errs, fmt.Errorf("use %s: demand_m3h must be a number ≥ 0", u.Name))
		}
		if _, ok := classes[u.Class]; !ok {
			errs = append(errs, fmt.Errorf("use %s: unknown quality class %q (one of %s)", u.Name, u.Class, strings.Join(slices.Sorted(maps.Keys(classes)), ", ")))
		}
		if u.Valve != "" {
			if a, ok := acts[u.Valve]; !ok {
				errs = append(errs, fmt.Errorf("use %s: valve %q is not among the actuators", u.Name, u.Valve))
			} else if !(a.Min <= 0 && a.Max >= 100) || a.Discrete() && !(slices.Contains(a.Values, 0) && slices.Contains(a.Values, 100)) {
				errs = append(errs, fmt.Errorf("use %s: valve %s must allow 0 and 100 %%", u.Name, u.Valve))
			}
		}
	}
	return errors.Join(errs...)
}

func (rc *RoutingConfig) sensors() []Sensor {
	var out []Sensor
	for _, s := range rc.Streams {
		out = append(out, s.Flow)
		for _, k := range slices.Sorted(maps.Keys(s.Quality)) {
			out = append(out, s.Quality[k])
		}
	}
	return out
}

// Route statuses of a use.
const (
	RouteServed  = "served"  // reuse water covers the demand
	RoutePartial = "partial" // the class is met but the flow covers part of the demand
	RouteNoFlow  = "no_flow" // the class is met but no flow is left for it
	RouteQuality = "quality" // no stream meets the use's class: fresh water only
)

// RoutingLive is the routing of the latest step.
type RoutingLive struct {
	Streams []StreamLive `json:"streams"`
	Uses    []UseLive    `json:"uses"`
}

// StreamLive is a stream's flow, the quality it was judged on and the
// classes that quality meets.
type StreamLive struct {
	Name       string         `json:"name"`
	Label      string         `json:"label,omitempty"`
	LabelEN    string         `json:"label_en,omitempty"`
	FlowM3h    Num            `json:"flow_m3h"`
	Quality    map[string]Num `json:"quality"` // null: not measured (or stale)
	Lab        []string       `json:"lab,omitempty"`
	Classes    []string       `json:"classes"`
	SurplusM3h Num            `json:"surplus_m3h"`
}

// UseLive is a use's routing: what it receives, from which streams, and why.
type UseLive struct {
	Name      string   `json:"name"`
	Label     string   `json:"label,omitempty"`
	LabelEN   string   `json:"label_en,omitempty"`
	Class     string   `json:"class"`
	Priority  int      `json:"priority"`
	DemandM3h Num      `json:"demand_m3h"`
	ServedM3h Num      `json:"served_m3h"`
	UnmetM3h  Num      `json:"unmet_m3h"`
	From      []string `json:"from,omitempty"`    // streams sending water to it
	Refused   []string `json:"refused,omitempty"` // "stream: reason" for each stream whose quality does not meet the use
	Status    string   `json:"status"`
	Valve     string   `json:"valve,omitempty"`
	// SinceS is how long (process s) the use has been in its status.
	SinceS Num `json:"since_s"`
}

// routeMemory is a use's last status and the process time it began.
type routeMemory struct {
	status string
	since  float64
}

// stepRouting routes the streams to the uses on the latest readings.
func (p *Controller) stepRouting(in Inputs, live *ReuseLive, res *Result) {
	rc := p.cfg.Reuse.Routing
	streams := make([]reuse.Stream, 0, len(rc.Streams))
	view := &RoutingLive{}
	values := map[string]map[string]actuate.Input{} // stream → parameter → the reading its quality was judged on
	// A request's inputs are named by parameter; with several streams, by
	// stream and parameter (left out where that is no channel name).
	inputName := func(stream, k string) string {
		if len(rc.Streams) > 1 {
			return stream + "_" + k
		}
		return k
	}
	for _, sc := range rc.Streams {
		values[sc.Name] = map[string]actuate.Input{}
		addInput := func(stream, k string, v Value) {
			if n := inputName(stream, k); reading.ValidChannel(n) {
				values[stream][k] = input(n, v)
			}
		}
		q := maps.Clone(sc.Lab)
		if q == nil {
			q = map[string]float64{}
		}
		sl := StreamLive{Name: sc.Name, Label: sc.Label, LabelEN: sc.LabelEN, Quality: map[string]Num{}, Lab: slices.Sorted(maps.Keys(sc.Lab))}
		for k, v := range sc.Lab {
			sl.Quality[k] = Num(v)
		}
		for _, k := range slices.Sorted(maps.Keys(sc.Quality)) {
			v := in.get(sc.Quality[k])
			addInput(sc.Name, k, v)
			if v.OK && finite(v.V) && v.AgeS <= rc.StaleAfterS {
				q[k], sl.Quality[k] = v.V, Num(v.V) // an analyser's reading prevails over the laboratory's
				sl.Lab = slices.DeleteFunc(sl.Lab, func(x string) bool { return x == k })
			} else if _, lab := sc.Lab[k]; !lab {
				delete(q, k)
				sl.Quality[k] = nan
			}
		}
		f := in.get(sc.Flow)
		addInput(sc.Name, "flow_m3h", f)
		flow := 0.0 // an unknown or stale flow sends nothing anywhere
		sl.FlowM3h = nan
		if f.OK && finite(f.V) && f.AgeS <= rc.StaleAfterS {
			flow, sl.FlowM3h = math.Max(f.V, 0), Num(f.V)
		}
		sl.Classes = append([]string{}, p.classes.Classify(q)...) // [] rather than null: no class met
		streams = append(streams, reuse.Stream{Name: sc.Name, Flow: flow, Quality: q})
		view.Streams = append(view.Streams, sl)
	}
	uses := make([]reuse.Use, len(rc.Uses))
	for i, u := range rc.Uses {
		uses[i] = reuse.Use{Name: u.Name, Demand: u.DemandM3h, Priority: u.Priority, Class: u.Class, Limits: u.Limits}
	}
	rt, err := p.classes.Route(streams, uses)
	if err != nil { // the configuration was validated; a failure here is a bug, shown rather than hidden
		res.Alarms = append(res.Alarms, Alarm{Code: "reuse_routing", Severity: alarm.SeverityWarning, Message: "reuse routing: " + err.Error()})
		return
	}
	for i := range view.Streams {
		view.Streams[i].SurplusM3h = Num(rt.Surplus[view.Streams[i].Name])
	}
	if p.routeState == nil {
		p.routeState = map[string]routeMemory{}
	}
	for _, u := range rc.Uses {
		ul := UseLive{Name: u.Name, Label: u.Label, LabelEN: u.LabelEN, Class: u.Class, Priority: u.Priority, DemandM3h: Num(u.DemandM3h),
			UnmetM3h: Num(rt.Unmet[u.Name]), Refused: rt.Ineligible[u.Name], Valve: u.Valve}
		// The readings behind the use's valve: the parameters its limits name
		// and the flow, of the streams that serve it (or, when none does, of
		// every stream: they are why it is closed).
		params := append(slices.Collect(maps.Keys(p.classes[u.Class])), slices.Collect(maps.Keys(u.Limits))...)
		params = append(params, "flow_m3h")
		slices.Sort(params)
		params = slices.Compact(params)
		behind := func(stream string) []actuate.Input {
			var out []actuate.Input
			for _, k := range params {
				if in, ok := values[stream][k]; ok {
					out = append(out, in)
				}
			}
			return out
		}
		served := 0.0
		var inputs []actuate.Input
		for _, a := range rt.Allocations {
			if a.Use == u.Name && a.Flow > 0 {
				served += a.Flow
				ul.From = append(ul.From, a.Stream)
				inputs = append(inputs, behind(a.Stream)...)
			}
		}
		ul.ServedM3h = Num(served)
		// Only water that flows is judged: a stream that makes nothing (an RO
		// in its cleaning, its analysers without sample flow) cuts no use off
		// for its quality.
		flowing, fit := 0, 0
		for _, st := range streams {
			if st.Flow > 0 {
				flowing++
				if !slices.ContainsFunc(ul.Refused, func(r string) bool { return strings.HasPrefix(r, st.Name+": ") }) {
					fit++
				}
			}
		}
		switch {
		case flowing > 0 && fit == 0:
			ul.Status = RouteQuality
		case served <= 0 && u.DemandM3h > 0:
			ul.Status = RouteNoFlow
		case rt.Unmet[u.Name] > 0:
			ul.Status = RoutePartial
		default:
			ul.Status = RouteServed
		}
		if m, ok := p.routeState[u.Name]; !ok || m.status != ul.Status {
			p.routeState[u.Name] = routeMemory{status: ul.Status, since: p.procS}
		}
		ul.SinceS = Num(p.procS - p.routeState[u.Name].since)
		why := routeReason(u, ul, flowing)
		if ul.Status == RouteQuality && u.DemandM3h > 0 {
			res.Alarms = append(res.Alarms, Alarm{Code: "reuse_quality_" + u.Name, Severity: alarm.SeverityWarning,
				Message: "reuse water to " + u.Name + " stopped: " + why})
		}
		if u.Valve != "" {
			v := 0.0
			if served > 0 {
				v = 100
			} else {
				// Closed: the readings that refused it are the cause.
				for _, s := range rc.Streams {
					inputs = append(inputs, behind(s.Name)...)
				}
			}
			res.Requests = append(res.Requests, actuate.Request{Actuator: u.Valve, Value: v, By: "reuse.route", Reason: why,
				Inputs: inputs})
		}
		view.Uses = append(view.Uses, ul)
	}
	live.Routing = view
}

// routeReason says in one line why a use gets what it gets.
func routeReason(u RouteUse, ul UseLive, flowing int) string {
	switch ul.Status {
	case RouteQuality:
		return fmt.Sprintf("no stream meets class %s (%s); fresh water supplies it", u.Class, strings.Join(ul.Refused, "; "))
	case RouteNoFlow:
		if flowing == 0 {
			return "no treated water flowing"
		}
		return fmt.Sprintf("class %s met, no reuse water left at priority %d", u.Class, u.Priority)
	}
	return fmt.Sprintf("class %s met by %s: %.1f of %.1f m³/h", u.Class, strings.Join(ul.From, ", "), float64(ul.ServedM3h), u.DemandM3h)
}

// routeAlarmMeter is the meter a routing alarm is about: the first stream's
// first analyser.
func (rc *RoutingConfig) alarmMeter() string {
	for _, s := range rc.Streams {
		for _, k := range slices.Sorted(maps.Keys(s.Quality)) {
			return s.Quality[k].Meter
		}
		return s.Flow.Meter
	}
	return ""
}
