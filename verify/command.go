package verify

import (
	"fmt"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

// ProblemCommand is a command entry that contradicts the log: an issued value
// outside the bounds the entry itself states, an outcome for a command that
// was never issued (or for another device), or a command ID issued twice.
const ProblemCommand ProblemKind = "bad-command-entry"

// Command is one command ledger entry (reading.CommandEntry) as the audit
// lists it.
type Command struct {
	Index      uint64    `json:"index"`
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	Plant      string    `json:"plant"`
	Enterprise string    `json:"enterprise,omitempty"`
	Device     string    `json:"device,omitempty"`
	Command    string    `json:"command"`
	Value      *float64  `json:"value,omitempty"`
	Unit       string    `json:"unit,omitempty"`
	Requested  *float64  `json:"requested,omitempty"`
	Min        *float64  `json:"min,omitempty"`
	Max        *float64  `json:"max,omitempty"`
	Interlocks []string  `json:"interlocks,omitempty"`
	Mode       string    `json:"mode,omitempty"`
	Source     string    `json:"source,omitempty"`
	By         string    `json:"by,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Time       time.Time `json:"time"`
}

// CommandStat sums the commands of one actuator output over the log: what a
// dosing or water-saving claim is audited against.
type CommandStat struct {
	Plant    string  `json:"plant"`
	Device   string  `json:"device"`
	Command  string  `json:"command"`
	Unit     string  `json:"unit,omitempty"`
	Issued   uint64  `json:"issued"`
	Acked    uint64  `json:"acked"`
	Nacked   uint64  `json:"nacked"`
	TimedOut uint64  `json:"timed_out"`
	MaxValue float64 `json:"max_value"` // highest value issued
	MaxBound float64 `json:"max_bound"` // highest upper bound in force when a command was issued
	// Limited counts issued commands an interlock changed.
	Limited uint64 `json:"limited"`
}

// commandState is what the audit keeps of command entries while it reads the log.
type commandState struct {
	issued map[string]string // command ID → device
	stats  map[[3]string]*CommandStat
}

// commandEntry checks a command entry (signed by the log key, in log order):
// its signature, its format, that an issued value lies within the bounds it
// states, and that every outcome closes a command issued earlier to the same
// device.
func (a *auditor) commandEntry(index uint64, e []byte) {
	a.report.CommandEntries++
	c, ok := logKeyEntry(a, index, e, "command entry", reading.ParseCommandEntry)
	if !ok {
		return
	}
	cs := &a.commands
	if cs.issued == nil {
		cs.issued, cs.stats = map[string]string{}, map[[3]string]*CommandStat{}
	}
	key := [3]string{c.Plant, c.Device, c.Command}
	st := cs.stats[key]
	if st == nil && c.Device != "" {
		st = &CommandStat{Plant: c.Plant, Device: c.Device, Command: c.Command, Unit: c.Unit}
		cs.stats[key] = st
	}
	switch {
	case c.Event == reading.EventIssue:
		if _, dup := cs.issued[c.ID]; dup {
			a.problem(Problem{Kind: ProblemCommand, Index: index, Detail: fmt.Sprintf("command %s issued twice", c.ID)})
		}
		cs.issued[c.ID] = c.Device
		st.Issued++
		if st.Issued == 1 || c.Value > st.MaxValue {
			st.MaxValue = c.Value
		}
		if c.HasBounds && (st.Issued == 1 || c.Max > st.MaxBound) {
			st.MaxBound = c.Max
		}
		if len(c.Interlocks) > 0 {
			st.Limited++
		}
	case c.IsOutcome():
		dev, ok := cs.issued[c.ID]
		switch {
		case !ok:
			a.problem(Problem{Kind: ProblemCommand, Index: index, Detail: fmt.Sprintf("%s of command %s, which was never issued", c.Event, c.ID)})
		case dev != c.Device:
			a.problem(Problem{Kind: ProblemCommand, Index: index, Detail: fmt.Sprintf("%s of command %s from device %s; it was issued to %s", c.Event, c.ID, c.Device, dev)})
		}
		switch c.Event {
		case reading.EventAck:
			st.Acked++
		case reading.EventNack:
			st.Nacked++
		default:
			st.TimedOut++
		}
	}
	if !c.InBounds() {
		a.problem(Problem{Kind: ProblemCommand, Index: index, Detail: fmt.Sprintf("command %s: %s %g outside the bounds [%g, %g] it was issued under",
			c.ID, c.Command, c.Value, c.Min, c.Max)})
	}
	if len(a.report.Commands) < a.opts.MaxListed {
		a.report.Commands = append(a.report.Commands, listCommand(index, c))
	}
}

func listCommand(index uint64, c *reading.CommandEntry) Command {
	out := Command{Index: index, ID: c.ID, Event: c.Event, Plant: c.Plant, Enterprise: c.Enterprise, Device: c.Device,
		Command: c.Command, Unit: c.Unit, Interlocks: c.Interlocks, Mode: c.Mode, Source: c.Source, By: c.By,
		Reason: c.Reason, Detail: c.Detail, Time: c.Time}
	num := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		return &v
	}
	out.Value, out.Requested = num(c.Value, c.HasValue), num(c.Requested, c.HasRequested)
	out.Min, out.Max = num(c.Min, c.HasBounds), num(c.Max, c.HasBounds)
	return out
}

// finishCommands sorts the per-actuator statistics into the report.
func (a *auditor) finishCommands() {
	for _, st := range a.commands.stats {
		a.report.CommandStats = append(a.report.CommandStats, *st)
	}
	sort.Slice(a.report.CommandStats, func(i, j int) bool {
		x, y := a.report.CommandStats[i], a.report.CommandStats[j]
		if x.Plant != y.Plant {
			return x.Plant < y.Plant
		}
		if x.Device != y.Device {
			return x.Device < y.Device
		}
		return x.Command < y.Command
	})
}
