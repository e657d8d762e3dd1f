package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/alarms"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// controlPlane is the server's control loops (package control) and the
// actuation layer they command devices through (package actuate).
type controlPlane struct {
	act    *actuate.Actuation
	runner *control.Runner
}

// commandLedger records command entries in the ledger: signed by the log
// key and sequenced in order with the readings by the ingest pipeline.
type commandLedger struct{ s *server }

func (l commandLedger) Record(ctx context.Context, e *reading.CommandEntry) (uint64, error) {
	signed, err := l.s.ledger.SignNote(e.Text())
	if err != nil {
		return 0, err
	}
	return l.s.pipeline.SubmitEntry(ctx, ingest.Entry{Raw: signed})
}

// brokerPublisher publishes commands through the embedded broker, which is
// started after the control plane is built.
type brokerPublisher struct{ s *server }

func (p brokerPublisher) Publish(topic string, payload []byte, qos byte) error {
	if p.s.broker == nil {
		return errors.New("MQTT broker not started")
	}
	if err := p.s.broker.Publish(topic, payload, qos); err != nil {
		return err
	}
	// A sequencer's devices connect to edges: the edge a device is on
	// delivers its commands (busmode.go).
	if p.s.bus != nil {
		return p.s.bus.conn.PublishCommand(topic, payload, qos)
	}
	return nil
}

// openControl builds the actuation layer and the control runner and loads
// the plants kept in the store. A plant that no longer loads is logged, not
// fatal: the rest of the platform runs.
func (s *server) openControl(ctx context.Context) error {
	log := s.cfg.Logger
	var now func() time.Time // nil: the wall clock
	if s.cfg.ControlClock != nil {
		now = s.cfg.ControlClock.Now
	}
	act, err := actuate.New(actuate.Options{Publisher: brokerPublisher{s}, Ledger: commandLedger{s}, Store: s.store,
		OnAlarm: s.actuationAlarm, Now: now, Logger: log.With("part", "actuation")})
	if err != nil {
		return err
	}
	runner, err := control.NewRunner(control.RunnerOptions{Actuation: act, Store: s.store, Directory: s.store, OnAlarm: s.plantAlarm,
		Clock: s.cfg.ControlClock, Logger: log.With("part", "control")})
	if err != nil {
		return err
	}
	if err := runner.Load(ctx); err != nil {
		log.Error("control: some plants were not loaded", "error", err)
	}
	s.control = &controlPlane{act: act, runner: runner}
	return nil
}

// runControl starts the actuation and control loops until bg ends.
func (s *server) runControl(bg context.Context) {
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		s.control.act.Run(bg)
	}()
	go func() {
		defer s.bg.Done()
		s.control.runner.Run(bg)
	}()
}

// onDeviceMessage takes what devices publish besides readings: command acknowledgements.
func (s *server) onDeviceMessage(device, topic string, payload []byte) {
	if s.control != nil {
		s.control.act.HandleAck(device, payload)
	}
}

// plantAlarm raises or clears a controller alarm in the alarm store.
func (s *server) plantAlarm(a control.PlantAlarm) {
	s.controlAlarm("control-"+a.Code, a.Severity, a.Enterprise, a.Meter, a.Plant+": "+a.Message, a.Clear)
}

// actuationAlarm raises or clears an actuation alarm (a device that does not
// acknowledge, refuses, or a ledger that cannot record).
func (s *server) actuationAlarm(a actuate.Alarm) {
	sev := a.Severity
	if sev == "" {
		sev = alarm.SeverityWarning
	}
	s.controlAlarm("actuation-"+a.Code, sev, a.Enterprise, a.Device, a.Plant+": "+a.Message, a.Clear)
}

func (s *server) controlAlarm(kind string, sev alarm.Severity, enterprise, meterID, message string, clear bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := s.cfg.Logger
	svc := &alarms.Service{Store: s.store, Notify: s.live.Alarm}
	c := alarms.Condition{Kind: kind, Severity: sev, Enterprise: enterprise, Meter: meterID, Message: message}
	if clear {
		if err := svc.ClearCondition(ctx, c, "control", "condition cleared"); err != nil {
			log.Error("control: find alarm to clear", "kind", kind, "error", err)
		}
		return
	}
	a, created, err := svc.Raise(ctx, c)
	if err != nil {
		log.Error("control: raise alarm", "kind", kind, "error", fmt.Sprint(err))
		return
	}
	if created {
		log.Info("control alarm", "kind", kind, "meter", meterID, "id", a.ID)
	}
}

// printCommandEntry prints an actuator-command ledger entry (verify proof).
func printCommandEntry(w io.Writer, c *reading.CommandEntry) {
	fmt.Fprintf(w, "  控制指令 command:    %s %s (plant %s", c.Event, c.ID, c.Plant)
	if c.Device != "" {
		fmt.Fprintf(w, ", device %s", c.Device)
	}
	fmt.Fprintln(w, ")")
	if c.HasValue {
		fmt.Fprintf(w, "  指令值 value:        %s = %s %s", c.Command, strconv.FormatFloat(c.Value, 'g', -1, 64), c.Unit)
		if c.HasBounds {
			fmt.Fprintf(w, " within the interlock bounds [%g, %g]", c.Min, c.Max)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "  执行器 actuator:     %s\n", c.Command)
	}
	if c.HasRequested {
		fmt.Fprintf(w, "  请求值 requested:    %g (interlocks: %s)\n", c.Requested, strings.Join(c.Interlocks, ", "))
	}
	if c.Mode != "" {
		fmt.Fprintf(w, "  模式 mode:           %s\n", c.Mode)
	}
	if c.Source != "" {
		fmt.Fprintf(w, "  原因 cause:          %s %s: %s\n", c.Source, c.By, c.Reason)
	}
	for _, in := range c.Inputs {
		fmt.Fprintf(w, "  依据 input:          %s = %g\n", in.Name, in.Value)
	}
	for _, in := range c.Indices {
		fmt.Fprintf(w, "  指数 index:          %s = %g\n", in.Name, in.Value)
	}
	if c.Detail != "" {
		fmt.Fprintf(w, "  设备应答 detail:     %s (after %d publishes)\n", c.Detail, c.Attempts)
	}
	fmt.Fprintf(w, "  时间 time:           %s\n", c.Time.UTC().Format(time.RFC3339Nano))
}

// printCommandStats prints the audit's per-actuator command summary.
func printCommandStats(w io.Writer, rep *verify.AuditReport) {
	if rep.CommandEntries == 0 {
		return
	}
	fmt.Fprintf(w, "  控制指令 commands:   %d entries; per actuator (issued, acknowledged, refused, timed out; highest value vs bound):\n", rep.CommandEntries)
	for _, st := range rep.CommandStats {
		fmt.Fprintf(w, "    %s %s %s: %d issued, %d acked, %d refused, %d timed out; max %g %s (bound %g), %d shaped by an interlock\n",
			st.Plant, st.Device, st.Command, st.Issued, st.Acked, st.Nacked, st.TimedOut, st.MaxValue, st.Unit, st.MaxBound, st.Limited)
	}
}
