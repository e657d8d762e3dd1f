package control

import (
	"math"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/reuse"
)

// TimedValue is one stored value of a sensor.
type TimedValue struct {
	T time.Time
	V float64
}

// RO sensor roles, the keys of the series ROTrend takes.
var ROSensorRoles = []string{"ro_feed_pressure", "ro_diff_pressure", "ro_perm_pressure", "ro_feed_cond", "ro_perm_cond",
	"ro_feed_flow", "ro_perm_flow", "temp"}

// ROSensors returns the configured RO sensors by role.
func (r *ReuseConfig) ROSensors() map[string]Sensor {
	s := r.Sensors
	return map[string]Sensor{"ro_feed_pressure": s.ROFeedP, "ro_diff_pressure": s.RODiffP, "ro_perm_pressure": s.ROPermP,
		"ro_feed_cond": s.ROFeedCond, "ro_perm_cond": s.ROPermCond, "ro_feed_flow": s.ROFeedFlow, "ro_perm_flow": s.ROPermFlow, "temp": s.Temp}
}

// ROPoint is one window of the RO trend: the window's mean operating data
// standardised to the reference (ASTM D4516). Windows with the RO out of
// service (no permeate) or a sensor missing are left out.
type ROPoint struct {
	Time          time.Time `json:"t"`
	NormFlow      Num       `json:"norm_flow_m3h"`
	NormSP        Num       `json:"norm_salt_passage_pct"`
	NormDP        Num       `json:"norm_dp_bar"`
	FlowChangePct Num       `json:"flow_change_pct"`
	SPChangePct   Num       `json:"sp_change_pct"`
	DPChangePct   Num       `json:"dp_change_pct"`
	FeedPressure  Num       `json:"feed_pressure_bar"`
	PermeateFlow  Num       `json:"permeate_flow_m3h"`
	Readings      int       `json:"readings"`
}

// ROTrend averages each RO sensor's values (as stored: the sensor's Scale
// is applied here) over n equal windows of [from, to) and normalises every
// window.
func (p *Controller) ROTrend(series map[string][]TimedValue, from, to time.Time, n int) []ROPoint {
	if p.cfg.Reuse == nil || !to.After(from) || n <= 0 {
		return nil
	}
	width := to.Sub(from) / time.Duration(n)
	if width <= 0 {
		width = 1
	}
	type acc struct {
		sum float64
		n   int
	}
	sums := make([]map[string]*acc, n)
	for role, vs := range series {
		for _, v := range vs {
			if v.T.Before(from) || !v.T.Before(to) || !finite(v.V) {
				continue
			}
			i := int(v.T.Sub(from) / width)
			if i >= n {
				i = n - 1
			}
			if sums[i] == nil {
				sums[i] = map[string]*acc{}
			}
			a := sums[i][role]
			if a == nil {
				a = &acc{}
				sums[i][role] = a
			}
			a.sum += v.V
			a.n++
		}
	}
	var out []ROPoint
	for i, m := range sums {
		if m == nil {
			continue
		}
		in := Inputs{}
		readings := 0
		complete := true
		for role, s := range p.cfg.Reuse.ROSensors() {
			a := m[role]
			if a == nil {
				complete = false
				break
			}
			in[s.key()] = Value{V: a.sum / float64(a.n), OK: true}
			readings = max(readings, a.n)
		}
		if !complete {
			continue
		}
		d, _, ok := p.roData(in)
		if !ok {
			continue
		}
		nr, err := p.NormalizeRO(d)
		if err != nil {
			continue
		}
		out = append(out, ROPoint{Time: from.Add(time.Duration(i)*width + width/2), NormFlow: Num(nr.PermeateFlow), NormSP: Num(nr.SaltPassage),
			NormDP: Num(nr.DiffPressure), FlowChangePct: Num(nr.FlowChangePct), SPChangePct: Num(nr.SaltPassageChgPct),
			DPChangePct: Num(nr.DiffPressureChgPct), FeedPressure: Num(d.FeedPressure), PermeateFlow: Num(d.PermeateFlow), Readings: readings})
	}
	return out
}

// Marker is a command that changed a sequence: an RO cleaning, a UF CIP.
type Marker struct {
	Time    time.Time `json:"t"`
	Command string    `json:"command"`
	Value   float64   `json:"value"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Index   uint64    `json:"index"`
}

// Markers picks the commands to an actuator that changed it to one of the
// given values (oldest first), e.g. the RO's cleaning starts. A command that
// repeats the value before it (a refresh, a retry after a timeout) is no new
// event; commands the device refused are left out.
func Markers(cmds []command.Record, actuator string, values ...float64) []Marker {
	var cs []command.Record
	for _, c := range cmds {
		if c.Kind == command.KindIssue && c.Actuator == actuator && c.Status != command.Nacked {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Issued.Before(cs[j].Issued) })
	var out []Marker
	for i, c := range cs {
		if i > 0 && cs[i-1].Value == c.Value {
			continue
		}
		for _, v := range values {
			if c.Value == v {
				out = append(out, Marker{Time: c.Issued, Command: c.ID, Value: c.Value, Status: c.Status, Reason: c.Reason, Index: c.Index})
			}
		}
	}
	return out
}

// Segment is a stretch of time a sequence spent in one mode.
type Segment struct {
	Mode    string    `json:"mode"`
	Code    int       `json:"code"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Command string    `json:"command,omitempty"`
}

// Timeline turns the mode commands to an actuator into segments over
// [from, to): each command's mode lasts until the next. Commands the device
// refused do not change the mode. name maps a mode code to its name.
func Timeline(cmds []command.Record, actuator string, from, to time.Time, name func(int) string) []Segment {
	var cs []command.Record
	for _, c := range cmds {
		if c.Kind == command.KindIssue && c.Actuator == actuator && c.Status != command.Nacked {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Issued.Before(cs[j].Issued) })
	var out []Segment
	for i, c := range cs {
		end := to
		if i+1 < len(cs) {
			end = cs[i+1].Issued
		}
		start := c.Issued
		if start.Before(from) {
			start = from
		}
		if !end.After(start) || !end.After(from) || !start.Before(to) {
			continue
		}
		code := int(math.Round(c.Value))
		if n := len(out); n > 0 && out[n-1].Code == code && out[n-1].To.Equal(start) {
			out[n-1].To = end // a refresh of the same mode
			continue
		}
		out = append(out, Segment{Mode: name(code), Code: code, From: start, To: end, Command: c.ID})
	}
	return out
}

// UFModeName names a UF mode code (reuse.UFMode).
func UFModeName(code int) string { return reuse.UFMode(code).String() }

// MMFModeName names a multimedia-filter mode code.
func MMFModeName(code int) string {
	if code >= 0 && code < len(mmfModes) {
		return mmfModes[code]
	}
	return "unknown"
}

// ROModeName names an RO mode code.
func ROModeName(code int) string {
	if code == ROCleaning {
		return "cip"
	}
	return "service"
}
