package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// parkStepS is the park network's time step (network seconds): its
// instruments report once a step, customers' meters every third step.
const (
	parkStepS          = 300
	parkCustomerEveryN = 3
)

// parkRuntime is the demo park's supply network while the simulator runs:
// its water utility, the utility's meters, the solver, and a pipe leak.
type parkRuntime struct {
	park    meter.Park
	utility meter.Enterprise
	netID   string
	clock   netmon.Clock
	model   *parknet.Model
	points  []parkPoint
	devices []*Device // aligned with points
	noise   *rand.Rand
	// first is the network time the current configuration began
	// publishing: the monitor calibrates from there.
	first int64

	mu   sync.Mutex
	leak *parkLeak
	last int64 // network time of the last published step
}

// parkLeak is a pipe leak injected into the park network.
type parkLeak struct {
	node    string
	pipes   []string
	flow    float64
	opensAt int64 // network time
	opened  time.Time
	open    bool
}

// parkClockFile keeps the park network's clock across simulator restarts,
// so that the monitor's calibration stays valid.
const parkClockFile = "park-network.json"

type parkClockState struct {
	Epoch time.Time `json:"epoch"`
	Speed float64   `json:"speed"`
	First int64     `json:"first"`
}

// demoPark is the park with the most simulated enterprises (the first of
// them on a tie): the one whose supply network the simulator runs.
func demoPark(prov *Province) (meter.Park, bool) {
	count := map[string]int{}
	for _, e := range prov.Enterprises {
		count[e.Park]++
	}
	best := -1
	for i, p := range prov.Parks {
		if best < 0 || count[p.ID] > count[prov.Parks[best].ID] {
			best = i
		}
	}
	if best < 0 {
		return meter.Park{}, false
	}
	return prov.Parks[best], true
}

// startParkNetwork registers the demo park's water utility, its meters and
// the network, and runs the network until ctx ends. A server without the
// networks API leaves the simulator running without it.
func (s *Sim) startParkNetwork(ctx context.Context, wg *sync.WaitGroup) error {
	if !s.cfg.ParkNetwork {
		return nil
	}
	pr, err := s.registerParkNetwork(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.park = pr
	s.mu.Unlock()
	for _, d := range pr.devices {
		s.connect(d)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		pr.run(ctx, s)
	}()
	s.logf("园区管网 / park network %s: %d 个计量点 points in %s (%s), 时钟 clock ×%g, 监测需先标定 %d 个模拟日 / the monitor calibrates on %d simulated days (%v real time)",
		pr.netID, len(pr.points), pr.park.Name, pr.utility.Name, pr.clock.Speed, parkCalibrationDays, parkCalibrationDays,
		pr.clock.Real(parkCalibrationDays*24*time.Hour).Round(time.Second))
	return nil
}

func (s *Sim) registerParkNetwork(ctx context.Context) (*parkRuntime, error) {
	park, ok := demoPark(s.prov)
	if !ok {
		return nil, errors.New("no park to put the network in")
	}
	var region meter.Region
	for _, r := range s.prov.Regions {
		if r.Code == park.Region {
			region = r
		}
	}
	name, nameEN := parkUtilityName(region)
	util := meter.Enterprise{ID: "EN-" + park.Region + "-W01", Name: name, NameEN: nameEN, Park: park.ID, Region: park.Region,
		Industry: "4610", Products: []string{"自来水 / tap water"}}
	if err := s.api.CreateEnterprise(ctx, util); err != nil && !IsExists(err) {
		return nil, fmt.Errorf("register the park's water utility: %w", err)
	}
	clk := s.parkClock()
	start := clk.clock.Seconds(time.Now()) / parkStepS * parkStepS
	if clk.First == 0 && s.cfg.ParkHistory && parkHistoryFits(clk.clock) {
		// First start: the network's clock begins its history ago; run
		// uploads the history before it goes live.
		start -= parkHistoryS
	}
	model, err := parknet.New(s.prov.Seed, start)
	if err != nil {
		return nil, err
	}
	pr := &parkRuntime{park: park, utility: util, netID: "NET-" + park.ID, clock: clk.clock, model: model,
		points: parkPoints(model.Network()), noise: rand.New(rand.NewPCG(uint64(s.prov.Seed), 0x9a7c5e)),
		first: clk.First, last: start - parkStepS}
	if pr.first == 0 {
		pr.first = start
		clk.First = start
		s.saveParkClock(clk)
	}
	stepReal := pr.clock.Real(parkStepS * time.Second)
	for _, p := range pr.points {
		channels := make([]meter.Channel, 0, len(p.Channels))
		for _, c := range p.Channels {
			ch, ok := meter.StandardChannel(c)
			if !ok {
				return nil, fmt.Errorf("channel %s not in meter's catalogue", c)
			}
			channels = append(channels, ch)
		}
		pt := &Point{Point: meter.Point{ID: util.ID + "-" + p.Tag, Enterprise: util.ID, Name: p.Name, NameEN: p.NameEN,
			Level: p.Level, Stage: p.Stage, Source: p.Source, Channels: channels},
			Spec:  PointSpec{Tag: p.Tag, Channels: p.Channels, Signed: meter.SignedByMeter},
			Meter: MeterSpec{ID: "HN-" + park.Region + "-W01-" + p.Tag, Signed: meter.SignedByMeter}}
		if p.ParentTag != "" {
			pt.Parent = util.ID + "-" + p.ParentTag
		}
		if err := pt.Validate(); err != nil {
			return nil, err
		}
		if err := s.api.CreatePoint(ctx, pt.Point); err != nil && !IsExists(err) {
			return nil, fmt.Errorf("register point %s: %w", pt.ID, err)
		}
		d, err := s.newDevice(pt)
		if err != nil {
			return nil, err
		}
		every := stepReal
		if p.Customer != "" {
			every *= parkCustomerEveryN
		}
		if err := s.registerMeterEvery(ctx, d, max(1, int(math.Ceil(every.Seconds())))); err != nil {
			return nil, err
		}
		pr.devices = append(pr.devices, d)
	}
	s.mu.Lock()
	for _, d := range pr.devices {
		s.devices[d.ID] = d
	}
	s.mu.Unlock()
	cfg := parkNetworkConfig(model.Network(), util.ID+"-", pr.clock, parkCalibrationDays)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"id": pr.netID, "name": park.Name + "供水管网（模拟）", "name_en": park.NameEN + " supply network (simulated)",
		"park": park.ID, "enterprise": util.ID, "inp": string(parknet.INP()), "config": json.RawMessage(raw)}
	if err := s.api.do(ctx, http.MethodPut, "/api/v1/networks/"+url.PathEscape(pr.netID), body, nil); err != nil {
		return nil, fmt.Errorf("register network %s: %w", pr.netID, err)
	}
	return pr, nil
}

// parkClockSetting is the park clock with the network time it began.
type parkClockSetting struct {
	clock netmon.Clock
	First int64
}

// parkClock returns the park network's clock: the one kept in the state
// directory if the speed is unchanged, else a new one starting now.
func (s *Sim) parkClock() parkClockSetting {
	speed := s.cfg.Speed
	if s.cfg.ParkSpeed > 0 {
		speed = s.cfg.ParkSpeed
	}
	if path := s.parkClockPath(); path != "" {
		if raw, err := os.ReadFile(path); err == nil {
			var st parkClockState
			if json.Unmarshal(raw, &st) == nil && st.Speed == speed && !st.Epoch.IsZero() {
				return parkClockSetting{clock: netmon.Clock{Speed: speed, Epoch: st.Epoch}, First: st.First}
			}
		}
	}
	c := parkClockSetting{clock: netmon.Clock{Speed: speed, Epoch: time.Now().UTC().Truncate(time.Second)}}
	s.saveParkClock(c)
	return c
}

func (s *Sim) parkClockPath() string {
	if s.store == nil || s.store.Dir() == "" {
		return ""
	}
	return filepath.Join(s.store.Dir(), parkClockFile)
}

func (s *Sim) saveParkClock(c parkClockSetting) {
	path := s.parkClockPath()
	if path == "" {
		return
	}
	raw, _ := json.Marshal(parkClockState{Epoch: c.clock.Epoch, Speed: c.clock.Speed, First: c.First})
	if err := os.WriteFile(path, raw, 0o640); err != nil {
		s.logf("状态写入失败 state: %v", err)
	}
}

// Park history (Config.ParkHistory): the monitor's calibration days and
// two hours more, so that an injected pipe leak opens as the history ends
// (injectPipeLeak), uploaded only when all of it is at most
// parkHistoryMaxAge old in real time: younger than the admission's skew
// limit (10 min behind the receive time, ingest.DefaultPolicy), with room
// for the upload itself. Older readings would be flagged (skew), raise
// skew alarms and be left out of detection.
const (
	parkHistoryS      = parkCalibrationDays*86400 + 2*3600
	parkHistoryMaxAge = 8 * time.Minute
	// parkHistoryBacklog bounds the readings a park meter has waiting for
	// acknowledgement during the upload: the upload goes as fast as the
	// server takes it, no faster.
	parkHistoryBacklog = 8
	// parkHistoryRate bounds the upload's steps per second, well inside
	// the broker's default publish limit of a device (50/s).
	parkHistoryRate = 30
)

// parkHistoryFits reports whether the park history at the clock's speed
// is young enough to upload.
func parkHistoryFits(c netmon.Clock) bool {
	return c.Speed > 0 && c.Real(parkHistoryS*time.Second) <= parkHistoryMaxAge
}

// catchUp publishes every step from the last published one up to the
// present, paced by the server's acknowledgements: the logged history a
// network's instruments upload on their first start.
func (pr *parkRuntime) catchUp(ctx context.Context, s *Sim) {
	pr.mu.Lock()
	from := pr.last + parkStepS
	pr.mu.Unlock()
	now := pr.clock.Seconds(time.Now()) / parkStepS * parkStepS
	if now-from < 2*parkStepS {
		return
	}
	started := time.Now()
	s.logf("园区管网 / park network %s: 上传 %.1f 个模拟日的历史记录 / uploading %.1f simulated days of logged history",
		pr.netID, float64(now-from)/86400, float64(now-from)/86400)
	tick := time.NewTicker(time.Second / parkHistoryRate)
	defer tick.Stop()
	steps, skipped := 0, int64(0)
	for {
		pr.mu.Lock()
		T := pr.last + parkStepS
		// A server slower than the clock would let the history age past
		// the skew limit: steps older than parkHistoryMaxAge are left out.
		if oldest := pr.clock.Seconds(time.Now().Add(-parkHistoryMaxAge)); T < oldest {
			skip := (oldest - T + parkStepS - 1) / parkStepS * parkStepS
			T += skip
			pr.last += skip
			skipped += skip / parkStepS
		}
		pr.mu.Unlock()
		if T > pr.clock.Seconds(time.Now()) {
			break
		}
		for pr.backlog() > parkHistoryBacklog {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := pr.stepAt(s, T, pr.clock.Instant(T)); err != nil {
			s.logf("园区管网 park network: %v", err)
			return
		}
		steps++
	}
	s.logf("园区管网 / park network %s: 历史记录已上传 / history uploaded: %d steps in %v (%d too old to upload left out)",
		pr.netID, steps, time.Since(started).Round(100*time.Millisecond), skipped)
}

// backlog is the most readings any park meter has not had acknowledged.
func (pr *parkRuntime) backlog() int {
	n := 0
	for _, d := range pr.devices {
		if d.conn != nil {
			n = max(n, len(d.conn.Pending()))
		}
	}
	return n
}

// run publishes the network's readings once a step and applies the leak.
func (pr *parkRuntime) run(ctx context.Context, s *Sim) {
	pr.catchUp(ctx, s)
	step := pr.clock.Real(parkStepS * time.Second)
	// Tick on the step grid of network time, where the monitor samples.
	next := pr.clock.Instant((pr.clock.Seconds(time.Now())/parkStepS + 1) * parkStepS)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	repairs := time.NewTicker(max(step, 2*time.Second))
	defer repairs.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-repairs.C:
			pr.checkRepairs(ctx, s)
		case now := <-timer.C:
			if err := pr.step(s, now); err != nil {
				s.logf("园区管网 park network: %v", err)
			}
			next = next.Add(step)
			if d := time.Until(next); d > 0 {
				timer.Reset(d)
			} else {
				next = time.Now().Add(step)
				timer.Reset(step)
			}
		}
	}
}

// step advances the model to now and publishes one reading per due meter.
func (pr *parkRuntime) step(s *Sim, now time.Time) error {
	return pr.stepAt(s, pr.clock.Seconds(now.Add(time.Second))/parkStepS*parkStepS, now)
}

// stepAt advances the model to network time T and publishes one reading
// per due meter, read at now.
func (pr *parkRuntime) stepAt(s *Sim, T int64, now time.Time) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if T <= pr.last {
		return nil
	}
	if l := pr.leak; l != nil && !l.open && T >= l.opensAt {
		if _, err := pr.model.OpenLeak(l.node, l.flow); err != nil {
			return err
		}
		l.open, l.opened = true, now
		s.logf("园区管网漏损开始 / park pipe leak opens at junction %s (pipes %v), %.1f m³/h", l.node, l.pipes, l.flow)
	}
	if err := pr.model.Advance(T); err != nil {
		return err
	}
	pr.last = T
	customers := (T/parkStepS)%parkCustomerEveryN == 0
	var b signedBatch
	for i, p := range pr.points {
		if p.Customer != "" && !customers {
			continue
		}
		d := pr.devices[i]
		vals, err := parkReading(pr.model, p, pr.noise)
		if err != nil {
			return err
		}
		q := 0.0
		if p.FlowLink != "" || p.Customer != "" {
			if q, err = parkTrueFlow(pr.model, p); err != nil {
				return err
			}
		}
		o, ok, err := d.measurePark(now, p.Channels, vals, q)
		s.keep(&b, d, o, ok, err)
	}
	return s.send(&b)
}

// measurePark signs a park instrument's reading: the given channel values,
// and the register (total_m3) integrating the true flow q.
func (d *Device) measurePark(now time.Time, channels []string, vals map[string]float64, q float64) (Outgoing, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.lastT.IsZero() && now.After(d.lastT) {
		h := math.Min(now.Sub(d.lastT).Hours(), 7*24)
		q0 := d.lastQ
		if d.resumed {
			q0 = q
		}
		// A register counts forward flow only.
		d.total += max((q0+q)/2, 0) * h
	}
	d.lastQ, d.lastT, d.resumed = q, now, false
	if d.offline || d.retired {
		return Outgoing{}, false, nil
	}
	values := make([]reading.Value, 0, len(channels))
	for _, ch := range channels {
		v := vals[ch]
		if ch == "total_m3" {
			v = d.total
		}
		dec := parkChannelDecimals[ch]
		values = append(values, reading.Value{Channel: ch, Value: v, Text: strconv.FormatFloat(v, 'f', dec, 64)})
	}
	msg, seq, err := d.chain.Next(now, values)
	if err != nil {
		return Outgoing{}, false, err
	}
	return Outgoing{Seq: seq, Time: now, Note: msg}, true, nil
}

// injectPipeLeak schedules a leak at a junction of the park network. It
// opens once the monitor has had its calibration days and two more hours
// of leak-free data, so that the detector learnt the network without it.
func (s *Sim) injectPipeLeak() (detail, meterID string, err error) {
	s.mu.Lock()
	pr := s.park
	s.mu.Unlock()
	if pr == nil {
		return "", "", errors.New("the park network is not simulated (Config.ParkNetwork)")
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.leak != nil {
		return "", "", fmt.Errorf("a pipe leak at junction %s is already injected", pr.leak.node)
	}
	net := pr.model.Network()
	var nodes []string
	for i := range net.Junctions {
		if net.Nodes[i].Tag != "" {
			nodes = append(nodes, net.Nodes[i].ID)
		}
	}
	r := rand.New(rand.NewPCG(uint64(s.prov.Seed), 0x1eac))
	node := nodes[r.IntN(len(nodes))]
	l := &parkLeak{node: node, flow: math.Round(10 + 5*r.Float64()), opensAt: pr.first + parkCalibrationDays*86400 + 2*3600}
	if now := pr.last + parkStepS; l.opensAt < now {
		l.opensAt = now
	}
	for k, lk := range net.Links {
		if lk.Kind.IsPipe() && (net.Nodes[lk.From].ID == node || net.Nodes[lk.To].ID == node) {
			l.pipes = append(l.pipes, net.Links[k].ID)
		}
	}
	pr.leak = l
	at := pr.clock.Instant(l.opensAt).In(ChinaTime)
	return fmt.Sprintf("pipe leak of about %.0f m³/h at junction %s of network %s (pipes %v) opens at %s (after the monitor's %d-day calibration); a closed work order naming one of these pipes repairs it",
		l.flow, node, pr.netID, l.pipes, at.Format("15:04:05"), parkCalibrationDays), "", nil
}

// checkRepairs closes the leak when a work order that repaired one of its
// pipes was closed after the leak opened.
func (pr *parkRuntime) checkRepairs(ctx context.Context, s *Sim) {
	pr.mu.Lock()
	l := pr.leak
	pr.mu.Unlock()
	if l == nil || !l.open {
		return
	}
	var orders []struct {
		ID           int64     `json:"id"`
		Closed       time.Time `json:"closed"`
		RepairedLink string    `json:"repaired_link"`
	}
	q := url.Values{"network": {pr.netID}, "state": {"closed"}}
	if err := s.api.do(ctx, http.MethodGet, "/api/v1/workorders?"+q.Encode(), nil, &orders); err != nil {
		return
	}
	for _, o := range orders {
		if o.Closed.Before(l.opened) || !slices.Contains(l.pipes, o.RepairedLink) {
			continue
		}
		pr.mu.Lock()
		err := pr.model.CloseLeak(l.node)
		if err == nil {
			pr.leak = nil
		}
		pr.mu.Unlock()
		if err != nil {
			s.logf("园区管网 park network: %v", err)
			return
		}
		s.logf("园区管网漏损已修复 / park pipe leak at %s repaired (work order %d, pipe %s)", l.node, o.ID, o.RepairedLink)
		return
	}
}
