package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/reuse"
)

// ProcessPlant is a simulated cooling tower and reuse train attached to an
// enterprise, run against a server like every other meter: its two analysers
// (tower and reuse train) are metering points whose meters sign readings and
// publish them over MQTT, and its actuators (make-up and blowdown valves,
// inhibitor, acid and biocide pumps, filter, UF and RO sequences) are MQTT
// devices that subscribe to their command topic, check each command against
// their own nameplate, apply it, acknowledge it and report their position as
// signed readings. The server's control loops close the loop.
type ProcessPlant struct {
	ID         string // the control plant ID registered with the server
	Enterprise string
	Params     ProcessParams
	// Speed is process seconds per wall-clock second; Tick the wall-clock
	// interval at which the plant advances and its analysers report.
	Speed float64
	Tick  time.Duration
	// Control is the configuration registered with the server.
	Control *control.PlantConfig
	// FeedbackEvery makes actuators report their position every this many
	// ticks besides after each command (default 20).
	FeedbackEvery int
	// Log receives command and registration messages (default discard).
	Log io.Writer
	// Paced makes the plant a test clock: it advances its process time only
	// while the platform keeps up, i.e. when every reading its analysers sent
	// has been acknowledged (is in the ledger and the store). A stall of the
	// machine then pauses the plant instead of letting it run blind for
	// minutes of process time. Ticks it holds are counted (Held). A paced
	// plant stamps its readings with its own time (Clock), which a server
	// whose controllers step on that clock measures their age against.
	Paced bool

	mu        sync.Mutex
	st        ProcessState
	membranes *reuse.Membranes
	rng       *rand.Rand
	devices   []*processDevice
	byAct     map[string]*processDevice
	started   time.Time
	last      time.Time
	ticks     int
	observers []func(ProcessState)
	refused   int
	applied   int
	held      int
	clock     *ProcessClock
}

// processDevice is one meter of the plant: an analyser or an actuator.
type processDevice struct {
	id, point string
	pt        meter.Point
	act       *actuate.Actuator // nil for analysers
	chain     *Chain
	conn      *Conn
	cmds      chan []byte
	mu        sync.Mutex
	dirty     bool
}

// Process point tags: the analysers and the actuators.
const (
	tagTowerAnalyser = "CTA"
	tagTrainAnalyser = "RTA"
)

// NewProcessPlant builds a plant for an enterprise with its control
// configuration (see ProcessControl) and starting state.
func NewProcessPlant(enterpriseID string, params ProcessParams, speed float64, tick time.Duration, seed int64) (*ProcessPlant, error) {
	if !(speed > 0) || tick <= 0 {
		return nil, errors.New("sim: process plant speed and tick must be positive")
	}
	m, err := reuse.LoadMembranes()
	if err != nil {
		return nil, err
	}
	suffix := strings.TrimPrefix(enterpriseID, "EN-")
	p := &ProcessPlant{ID: "PL-" + suffix + "-CW", Enterprise: enterpriseID, Params: params, Speed: speed, Tick: tick,
		membranes: m, rng: rand.New(rand.NewSource(seed)), FeedbackEvery: 20, byAct: map[string]*processDevice{}}
	p.clock = &ProcessClock{p: p, origin: time.Now()}
	cfg, err := ProcessControl(p.ID, enterpriseID, "HN-"+suffix+"-", params, speed, tick)
	if err != nil {
		return nil, err
	}
	p.Control = cfg
	p.st = NewProcessState(params, cfg.Tower.Blowdown.CyclesSetpoint, cfg.Tower.Inhibitor.SetpointMgL)
	return p, nil
}

// State returns the plant's true state.
func (p *ProcessPlant) State() ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Observe registers a function called with the true state after every tick
// (tests use it to measure what the instruments do not show).
func (p *ProcessPlant) Observe(f func(ProcessState)) {
	p.mu.Lock()
	p.observers = append(p.observers, f)
	p.mu.Unlock()
}

// Counts returns how many commands the devices applied and refused.
func (p *ProcessPlant) Counts() (applied, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied, p.refused
}

func (p *ProcessPlant) logf(format string, a ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, time.Now().Format("15:04:05 ")+format+"\n", a...)
	}
}

// points returns the plant's metering points and their meter IDs.
func (p *ProcessPlant) points() ([]meter.Point, []string, []*actuate.Actuator, error) {
	suffix := strings.TrimPrefix(p.Enterprise, "EN-")
	std := func(name string) meter.Channel {
		c, _ := meter.StandardChannel(name)
		return c
	}
	as := func(name, from string) meter.Channel {
		c := std(from)
		c.Name = name
		return c
	}
	tower := meter.Point{ID: p.Enterprise + "-" + tagTowerAnalyser, Enterprise: p.Enterprise, Name: "循环冷却水在线监测站",
		NameEN: "Cooling-water online analyser", Level: meter.Level3, Stage: meter.StageRecirculation,
		Channels: []meter.Channel{std("level_pct"), std("cond_us_cm"), as("makeup_cond_us_cm", "cond_us_cm"), std("fluor_ppb"),
			std("tagged_mg_l"), std("temp_c"), as("return_temp_c", "temp_c"), std("flow_m3h"), as("makeup_m3h", "flow_m3h"),
			as("blowdown_m3h", "flow_m3h"), std("ph"), std("orp_mv")}}
	train := meter.Point{ID: p.Enterprise + "-" + tagTrainAnalyser, Enterprise: p.Enterprise, Name: "回用水处理站在线监测",
		NameEN: "Reuse-train online analyser (MMF, UF, RO)", Level: meter.Level3, Stage: meter.StageTreatment,
		Channels: []meter.Channel{as("mmf_dp_kpa", "dp_kpa"), std("turb_ntu"), std("tmp_kpa"), as("uf_flow_m3h", "flow_m3h"), std("temp_c"),
			as("ro_feed_mpa", "pressure_mpa"), as("ro_dp_kpa", "dp_kpa"), as("ro_perm_mpa", "pressure_mpa"), as("ro_feed_us_cm", "cond_us_cm"),
			as("ro_perm_us_cm", "cond_us_cm"), as("ro_feed_m3h", "flow_m3h"), as("ro_perm_m3h", "flow_m3h"), as("ro_perm_turb_ntu", "turb_ntu"),
			as("ro_perm_ph", "ph")}}
	pts := []meter.Point{tower, train}
	ids := []string{"HN-" + suffix + "-" + tagTowerAnalyser, "HN-" + suffix + "-" + tagTrainAnalyser}
	acts := []*actuate.Actuator{nil, nil}
	names := map[string][2]string{
		"makeup_valve": {"补水阀", "Make-up valve"}, "blowdown_valve": {"排污阀", "Blowdown valve"},
		"inhibitor_pump": {"阻垢缓蚀剂加药泵", "Scale/corrosion inhibitor pump"}, "acid_pump": {"加酸泵", "Acid pump"},
		"biocide_pump": {"杀菌剂加药泵", "Biocide pump"}, "mmf_mode": {"多介质过滤器", "Multimedia filter sequence"},
		"uf_mode": {"超滤装置", "UF rack sequence"}, "ro_mode": {"反渗透装置", "RO train"},
		"reuse_to_rinse": {"回用水阀（产品漂洗）", "Reuse valve to product rinse"}, "reuse_to_boiler": {"回用水阀（锅炉补水）", "Reuse valve to boiler make-up"},
		"reuse_to_tower": {"回用水阀（冷却塔补水）", "Reuse valve to cooling-tower make-up"}, "reuse_to_washing": {"回用水阀（地面冲洗）", "Reuse valve to floor washing"},
	}
	for i := range p.Control.Actuators {
		a := &p.Control.Actuators[i]
		ch := "mode_code"
		switch a.Unit {
		case "%":
			ch = "valve_pct"
		case "L/h":
			ch = "dose_l_h"
		}
		tag := strings.TrimPrefix(a.Device, "HN-"+suffix+"-")
		pts = append(pts, meter.Point{ID: p.Enterprise + "-" + tag, Enterprise: p.Enterprise, Name: names[a.Name][0], NameEN: names[a.Name][1] + " (actuator)",
			Level: meter.Level3, Stage: meter.StageTreatment, Channels: []meter.Channel{std(ch)}})
		ids = append(ids, a.Device)
		acts = append(acts, a)
	}
	for _, pt := range pts {
		if err := pt.Validate(); err != nil {
			return nil, nil, nil, err
		}
	}
	return pts, ids, acts, nil
}

// Register creates the plant's points and meters and its control
// configuration on the server (existing ones are kept).
func (p *ProcessPlant) Register(ctx context.Context, api *API, store *Store) error {
	pts, ids, acts, err := p.points()
	if err != nil {
		return err
	}
	for i, pt := range pts {
		if err := api.CreatePoint(ctx, pt); err != nil && !IsExists(err) {
			return fmt.Errorf("sim: process point %s: %w", pt.ID, err)
		}
		skey, vkey, err := MeterKey(store.Secret(), ids[i])
		if err != nil {
			return err
		}
		reg := MeterRegistration{ID: ids[i], Point: pt.ID, Key: vkey, Signed: string(meter.SignedByMeter),
			IntervalS: max(1, int(math.Ceil(float64(p.FeedbackEvery)*p.Tick.Seconds()))), MQTTPassword: MQTTPassword(store.Secret(), ids[i])}
		if acts[i] == nil {
			reg.IntervalS = max(1, int(math.Ceil(p.Tick.Seconds())))
		}
		if _, _, err := api.RegisterMeter(ctx, reg); err != nil && !IsExists(err) {
			return fmt.Errorf("sim: process meter %s: %w", ids[i], err)
		}
		st, _ := store.Meter(ids[i])
		prev, _ := st.PrevHash()
		if info, err := api.Meter(ctx, ids[i]); err == nil && info.LastSeq > st.Seq {
			st.Seq, prev = info.LastSeq, reading.Hash{} // continue after the server's chain
		}
		chain, err := NewChainFromKey(ids[i], pt.ID, skey, st.Seq, prev)
		if err != nil {
			return err
		}
		d := &processDevice{id: ids[i], point: pt.ID, pt: pt, act: acts[i], chain: chain, cmds: make(chan []byte, 64), dirty: true}
		p.devices = append(p.devices, d)
		if d.act != nil {
			p.byAct[d.act.Name] = d
		}
	}
	if err := api.RegisterPlant(ctx, p.Control); err != nil {
		return fmt.Errorf("sim: register plant %s: %w", p.ID, err)
	}
	p.logf("受控装置已注册 / controlled plant %s registered for %s: %d devices, speed ×%g", p.ID, p.Enterprise, len(p.devices), p.Speed)
	return nil
}

// RegisterPlant registers (or replaces) a plant's control configuration (admin).
func (a *API) RegisterPlant(ctx context.Context, cfg *control.PlantConfig) error {
	return a.do(ctx, http.MethodPost, "/api/v1/plants", cfg, nil)
}

// Run connects the devices and advances the plant every Tick until ctx ends.
func (p *ProcessPlant) Run(ctx context.Context, broker string, store *Store) error {
	if len(p.devices) == 0 {
		return errors.New("sim: process plant not registered")
	}
	var wg sync.WaitGroup
	for _, d := range p.devices {
		cfg := ConnConfig{Broker: broker, Username: d.id, Password: MQTTPassword(store.Secret(), d.id), Inflight: 64, NoReceipts: true,
			AckTimeout: 30 * time.Second, OnAck: func(a Ack) { store.Acked(a.Meter, a.Seq) }}
		if d.act != nil {
			cfg.OnCommand = func(payload []byte) {
				select {
				case d.cmds <- payload:
				default: // a full queue: the server retries
				}
			}
		}
		d.conn = Dial(cfg)
		if d.act != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(ctx, d, store)
			}()
		}
	}
	p.mu.Lock()
	p.started, p.last = time.Now(), time.Now()
	p.mu.Unlock()
	tick := time.NewTicker(p.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			for _, d := range p.devices {
				d.conn.Flush(fctx)
				d.conn.Close()
			}
			cancel()
			return nil
		case now := <-tick.C:
			p.advance(now, store)
		}
	}
}

// Held returns how many ticks a paced plant held its process time.
func (p *ProcessPlant) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// behind reports whether an analyser has readings the platform has not acknowledged.
func (p *ProcessPlant) behind() bool {
	for _, d := range p.devices {
		if d.act == nil && d.conn != nil && d.conn.Stats().Pending > 0 {
			return true
		}
	}
	return false
}

// advance integrates the plant up to now and publishes the readings.
func (p *ProcessPlant) advance(now time.Time, store *Store) {
	if p.Paced && p.behind() {
		p.mu.Lock()
		p.last, p.held = now, p.held+1 // the wall time of a stall is not process time
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	dt := math.Min(now.Sub(p.last).Seconds(), 10*p.Tick.Seconds()) * p.Speed
	p.last = now
	p.st = p.Params.Advance(p.st, dt, p.membranes)
	p.ticks++
	st := p.st
	if p.Paced {
		now = p.clock.at(st.T) // the plant's readings carry its own time
	}
	tw := p.Params.ReadTower(st, p.rng)
	tr := p.Params.ReadTrain(st, p.membranes, p.rng)
	obs := slices.Clone(p.observers)
	heartbeat := p.ticks%max(1, p.FeedbackEvery) == 0
	p.mu.Unlock()
	for _, f := range obs {
		f(st)
	}
	for _, d := range p.devices {
		var vals []reading.Value
		switch {
		case d.act == nil && strings.HasSuffix(d.point, "-"+tagTowerAnalyser):
			vals = values(d.pt, map[string]float64{"level_pct": tw.LevelPct, "cond_us_cm": tw.Cond, "makeup_cond_us_cm": tw.MakeupCond,
				"fluor_ppb": tw.Tracer, "tagged_mg_l": tw.Tagged, "temp_c": tw.TempC, "return_temp_c": tw.ReturnTempC, "flow_m3h": tw.CirculationM3h,
				"makeup_m3h": tw.MakeupM3h, "blowdown_m3h": tw.BlowdownM3h, "ph": tw.PH, "orp_mv": tw.ORP})
		case d.act == nil:
			vals = values(d.pt, map[string]float64{"mmf_dp_kpa": tr.MMFHeadlossKPa, "turb_ntu": tr.MMFTurbidity, "tmp_kpa": tr.UFTMPKPa,
				"uf_flow_m3h": tr.UFFlowM3h, "temp_c": tr.TempC, "ro_feed_mpa": tr.ROFeedMPa, "ro_dp_kpa": tr.RODPKPa, "ro_perm_mpa": tr.ROPermMPa,
				"ro_feed_us_cm": tr.ROFeedCond, "ro_perm_us_cm": tr.ROPermCond, "ro_feed_m3h": tr.ROFeedM3h, "ro_perm_m3h": tr.ROPermM3h,
				"ro_perm_turb_ntu": tr.ROPermTurb, "ro_perm_ph": tr.ROPermPH})
		default:
			d.mu.Lock()
			due := d.dirty || heartbeat
			d.dirty = false
			d.mu.Unlock()
			if !due {
				continue
			}
			vals = values(d.pt, map[string]float64{d.pt.Channels[0].Name: p.position(d.act.Name)})
		}
		p.publish(d, now, vals, store)
	}
	p.clock.fire(p.clock.at(st.T))
}

// values formats channel values in the point's order.
func values(pt meter.Point, v map[string]float64) []reading.Value {
	out := make([]reading.Value, 0, len(pt.Channels))
	for _, c := range pt.Channels {
		x, ok := v[c.Name]
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		x = math.Max(c.Min, math.Min(c.Max, x))
		out = append(out, reading.Value{Channel: c.Name, Value: x, Text: strconv.FormatFloat(x, 'f', 4, 64)})
	}
	return out
}

func (p *ProcessPlant) publish(d *processDevice, now time.Time, vals []reading.Value, store *Store) {
	if len(vals) == 0 {
		return
	}
	d.mu.Lock()
	msg, seq, err := d.chain.Next(now, vals)
	d.mu.Unlock()
	if err != nil {
		p.logf("签名失败 signing failed: %s: %v", d.id, err)
		return
	}
	_ = store.Signed(d.id, seq, 0, now, msg)
	d.conn.Send(Outgoing{Seq: seq, Time: now, Note: msg})
}

// position is an actuator's current value in its own unit.
func (p *ProcessPlant) position(name string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.st
	switch name {
	case "makeup_valve":
		if s.MakeupOpen {
			return 100
		}
		return 0
	case "blowdown_valve":
		return s.BlowdownPct
	case "inhibitor_pump":
		return s.InhibitorLh
	case "acid_pump":
		return s.AcidLh
	case "biocide_pump":
		return s.BiocideLh
	case "mmf_mode":
		return float64(s.MMFMode)
	case "uf_mode":
		return float64(s.UFMode)
	case "ro_mode":
		return float64(s.ROMode)
	}
	if _, ok := reuseValveTags[name]; ok {
		return s.ReuseValves[name] // closed until commanded
	}
	return math.NaN()
}

// serve applies an actuator's commands and acknowledges them.
func (p *ProcessPlant) serve(ctx context.Context, d *processDevice, store *Store) {
	for {
		select {
		case <-ctx.Done():
			return
		case payload := <-d.cmds:
			m, err := actuate.ParseMessage(payload)
			var ack actuate.AckMessage
			switch {
			case err != nil:
				continue // nothing to answer to
			case m.Command != d.act.Name:
				ack = actuate.AckMessage{ID: m.ID, OK: false, Detail: "unknown command " + m.Command + " for this device"}
			case !(m.Value >= d.act.Min && m.Value <= d.act.Max) || d.act.Discrete() && !slices.Contains(d.act.Values, m.Value):
				// The device's own nameplate check: it refuses what it cannot do.
				ack = actuate.AckMessage{ID: m.ID, OK: false, Detail: fmt.Sprintf("value %g outside the nameplate range [%g, %g]", m.Value, d.act.Min, d.act.Max)}
			default:
				p.apply(d.act.Name, m.Value)
				ack = actuate.AckMessage{ID: m.ID, OK: true, Detail: fmt.Sprintf("applied %g %s", m.Value, d.act.Unit)}
				d.mu.Lock()
				d.dirty = true
				d.mu.Unlock()
			}
			p.mu.Lock()
			if ack.OK {
				p.applied++
			} else {
				p.refused++
			}
			p.mu.Unlock()
			if !ack.OK {
				p.logf("指令被拒 command refused by %s: %s", d.id, ack.Detail)
			}
			raw, _ := json.Marshal(ack)
			if err := d.conn.PublishAck(raw); err != nil {
				p.logf("确认失败 ack of %s not sent: %v", m.ID, err)
			}
		}
	}
}

// apply sets an actuator in the process.
func (p *ProcessPlant) apply(name string, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.st
	switch name {
	case "makeup_valve":
		s.MakeupOpen = v >= 50
	case "blowdown_valve":
		s.BlowdownPct = v
	case "inhibitor_pump":
		s.InhibitorLh = v
	case "acid_pump":
		s.AcidLh = v
	case "biocide_pump":
		s.BiocideLh = v
	case "mmf_mode":
		m := reuse.MMFMode(v)
		if m == reuse.MMFBackwash && s.MMFMode != reuse.MMFBackwash {
			s.MMFBW++
		}
		s.MMFMode = m
	case "uf_mode":
		m := reuse.UFMode(v)
		if m == reuse.UFBackwash && s.UFMode != reuse.UFBackwash {
			s.UFBackwashes++
		}
		s.UFMode = m
	case "ro_mode":
		switch {
		case v == control.ROService && s.ROMode == control.ROCleaning:
			s.RO = p.Params.RO.Clean(s.RO) // the CIP is done when the RO returns to service
		case v == control.ROCleaning && s.ROMode != control.ROCleaning:
			s.ROCleanings++ // cleanings started
		}
		s.ROMode = int(v)
	default:
		if _, ok := reuseValveTags[name]; ok {
			m := maps.Clone(s.ReuseValves)
			if m == nil {
				m = map[string]float64{}
			}
			m[name] = v
			s.ReuseValves = m
		}
	}
}

// startProcessPlants attaches Config.ProcessPlants controlled plants to the
// first enterprises that have a cooling system, registers them and runs them.
func (s *Sim) startProcessPlants(ctx context.Context, wg *sync.WaitGroup) error {
	if s.cfg.ProcessPlants <= 0 {
		return nil
	}
	speed, tick := s.cfg.ProcessSpeed, s.cfg.ProcessTick
	if speed == 0 {
		speed = 240
	}
	if tick == 0 {
		tick = time.Second
	}
	for _, e := range s.prov.Enterprises {
		if len(s.processPlants) >= s.cfg.ProcessPlants {
			break
		}
		if !slices.ContainsFunc(e.System.Units, func(u Unit) bool { return u.Kind == UnitCooling }) {
			continue
		}
		pp, err := NewProcessPlant(e.ID, DefaultProcessParams(), speed, tick, s.prov.Seed+int64(len(s.processPlants)))
		if err != nil {
			return err
		}
		pp.Log = s.log
		if err := pp.Register(ctx, s.api, s.store); err != nil {
			return err
		}
		s.mu.Lock()
		s.processPlants = append(s.processPlants, pp)
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pp.Run(ctx, s.cfg.MQTT, s.store); err != nil {
				s.logf("受控装置 %s: %v", pp.ID, err)
			}
		}()
	}
	return nil
}

// ProcessPlants returns the controlled plants the simulator runs.
func (s *Sim) ProcessPlants() []*ProcessPlant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.processPlants)
}
