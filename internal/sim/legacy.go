package sim

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/szy206"
)

// Legacy devices. With Config.HJ212 set, every enterprise's discharge
// outfall (online monitoring) is an HJ 212-2017 data logger, and with
// Config.SZY206 set the intake meter of every third enterprise is an
// SZY 206-2016 terminal: they cannot sign, so they send frames over TCP to
// the server's gateways (Config.Gateway), which sign for them. The demo then
// shows both trust levels. Their meters are registered as signed by that
// gateway and their frames' fields mapped to the points' channels through
// the API (POST /api/v1/gateway-devices).

// hj212Fields maps a discharge point's channels to the HJ 212 fields the
// simulated logger sends (HJ 212-2017 Appendix B codes) and the unit of
// each. The flowmeter's register is a vendor field (w00000-Total): the
// standard has no totaliser, only period volumes (Cou).
var hj212Fields = map[string]struct{ field, unit string }{
	"total_m3":   {"w00000-Total", "m3"},
	"flow_m3h":   {"w00000-Rtd", "L/s"},
	"ph":         {"w01001-Rtd", ""},
	"cond_us_cm": {"w01014-Rtd", ""},
	"turb_ntu":   {"w01003-Rtd", ""},
	"cod_mg_l":   {"w01018-Rtd", ""},
	"nh3n_mg_l":  {"w21003-Rtd", ""},
}

// szy206Fields maps an intake point's channels to SZY 206 report elements
// (function 3: flow in m³/s, cumulative volume in m³).
var szy206Fields = map[string]struct{ field, unit string }{
	"total_m3": {"volume1", "m3"},
	"flow_m3h": {"flow1", "m3/s"},
}

// legacy is a simulated legacy device's link to the server's gateway.
type legacy struct {
	proto    string // "hj212" or "szy206"
	server   string // the gateway's address
	device   string // HJ 212 MN or SZY 206 address (ten hex digits)
	szyAddr  szy206.Address
	password string // HJ 212 PW

	mu     sync.Mutex // one frame at a time
	conn   net.Conn
	rd     *bufio.Reader
	inject string // one-shot fault for the next frame: bad-crc, wrong-password, split
	qn     int

	sent, answered, refused, dials atomic.Uint64
}

// newLegacy makes a device's legacy link, or nil if the device stays a
// signing meter.
func (s *Sim) newLegacy(d *Device, enterpriseIndex int) *legacy {
	h := hmac.New(sha256.New, s.store.Secret())
	h.Write([]byte("shuixiao-sim legacy device v1\x00" + d.ID))
	sum := h.Sum(nil)
	switch {
	case s.cfg.HJ212 != "" && d.Point.Stage == meter.StageDischarge && d.Point.Meter.Signed == meter.SignedByGateway:
		return &legacy{proto: "hj212", server: s.cfg.HJ212, device: fmt.Sprintf("%X", sum[:12]),
			password: fmt.Sprintf("%06d", (int(sum[12])<<16|int(sum[13])<<8|int(sum[14]))%1000000)}
	case s.cfg.SZY206 != "" && d.Point.Stage == meter.StageIntake && enterpriseIndex%3 == 0:
		n := (int(sum[0])<<8 | int(sum[1])) % 10000
		a := szy206.Address{0x43, 0x00, 0x00, byte(n/1000<<4 | n/100%10), byte(n/10%10<<4 | n%10)}
		return &legacy{proto: "szy206", server: s.cfg.SZY206, device: a.String(), szyAddr: a}
	}
	return nil
}

// mapping is the device's mapping for POST /api/v1/gateway-devices.
func (l *legacy) mapping(d *Device, gatewayID string) meter.DeviceMapping {
	fields := hj212Fields
	if l.proto == "szy206" {
		fields = szy206Fields
	}
	m := meter.DeviceMapping{Protocol: l.proto, Device: l.device, Password: l.password, Gateway: gatewayID}
	for _, c := range d.Point.Channels {
		f, ok := fields[c.Name]
		if !ok {
			continue
		}
		m.Fields = append(m.Fields, meter.FieldMapping{Field: f.field, Meter: d.ID, Channel: c.Name, Kind: c.Kind, Unit: f.unit})
	}
	return m
}

// frames builds the frames of one reading (several for a split message).
func (l *legacy) frames(at time.Time, values map[string]float64) ([][]byte, error) {
	if l.proto == "szy206" {
		data, err := szy206.EncodeReport(szy206.Report{Function: 3, Time: at, Values: []szy206.Value{
			{Name: "flow1", Value: math.Round(values["flow_m3h"]/3.6) / 1000}, {Name: "volume1", Value: math.Floor(values["total_m3"])}}}, szy206.Options{})
		if err != nil {
			return nil, err
		}
		raw, err := szy206.Frame{Control: szy206.NewControl(true, false, 0, 3), Address: l.szyAddr, AFN: szy206.AFNSelfRT, Data: data}.Encode()
		return [][]byte{raw}, err
	}
	var parts []string
	for ch, f := range hj212Fields {
		v, ok := values[ch]
		if !ok {
			continue
		}
		if f.unit == "L/s" {
			v /= 3.6
		}
		code, _, _ := strings.Cut(f.field, "-")
		parts = append(parts, fmt.Sprintf("%s=%.3f,%s-Flag=N", f.field, v, code))
	}
	sort.Strings(parts)
	l.qn++
	pw := l.password
	inject := l.inject
	l.inject = ""
	if inject == "wrong-password" {
		pw = "000000"
		if l.password == pw {
			pw = "999999"
		}
	}
	p := hj212.Packet{QN: hj212.FormatQN(at.Add(time.Duration(l.qn%1000) * time.Millisecond)), ST: "32", CN: hj212.CNRealtime, PW: pw, MN: l.device,
		Flag: 5, HasFlag: true, CP: "DataTime=" + hj212.FormatTime(at) + ";" + strings.Join(parts, ";")}
	if inject == "split" && len(parts) > 1 {
		half := len(parts) / 2
		var out [][]byte
		for i, cp := range []string{"DataTime=" + hj212.FormatTime(at) + ";" + strings.Join(parts[:half], ";"), strings.Join(parts[half:], ";")} {
			q := p
			q.Flag, q.PNUM, q.PNO, q.CP = 7, 2, i+1, cp
			b, err := hj212.Build(q)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil
	}
	b, err := hj212.Build(p)
	if err != nil {
		return nil, err
	}
	if inject == "bad-crc" {
		b[len(b)-3] ^= 0x01 // a CRC digit: the gateway answers QnRtn=9 and makes no reading
	}
	return [][]byte{b}, nil
}

// send sends one reading's frames and waits for the gateway's answer (the
// gateway answers once the readings are in the ledger). A link found
// broken is dialled again and the frames sent once more, as a data logger
// resends what was not answered; a refusal ends the link (the gateway
// closes it after a wrong password).
func (l *legacy) send(at time.Time, values map[string]float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	frames, err := l.frames(at, values)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ok, err := l.exchange(frames)
		switch {
		case err != nil && attempt == 0:
			continue
		case err != nil:
			l.refused.Add(1)
			return err
		case !ok:
			l.refused.Add(1)
			l.drop()
		default:
			l.answered.Add(1)
		}
		return nil
	}
}

// exchange writes frames on the link (dialling it if needed) and reads the
// answers; an error drops the link.
func (l *legacy) exchange(frames [][]byte) (bool, error) {
	if l.conn == nil {
		c, err := net.DialTimeout("tcp", l.server, 10*time.Second)
		if err != nil {
			return false, fmt.Errorf("%s gateway %s: %w", l.proto, l.server, err)
		}
		l.dials.Add(1)
		l.conn, l.rd = c, bufio.NewReader(c)
	}
	l.conn.SetDeadline(time.Now().Add(30 * time.Second))
	for _, f := range frames {
		if _, err := l.conn.Write(f); err != nil {
			l.drop()
			return false, err
		}
	}
	l.sent.Add(1)
	ok, err := l.answer(len(frames))
	if err != nil {
		l.drop()
	}
	return ok, err
}

// answer reads the gateway's answers to n frames: true when all are
// acknowledgements (HJ 212 9014 — a split message's every part is
// answered; an SZY 206 answer), false for a refusal (HJ 212 9011).
func (l *legacy) answer(n int) (bool, error) {
	if l.proto == "szy206" {
		buf := make([]byte, 64)
		k, err := l.rd.Read(buf)
		if err != nil {
			return false, err
		}
		_, err = szy206.Parse(buf[:k])
		return err == nil, nil
	}
	ok := true
	for range n {
		line, err := l.rd.ReadString('\n')
		if err != nil {
			return false, err
		}
		ok = ok && strings.Contains(line, "CN=9014;")
	}
	return ok, nil
}

func (l *legacy) drop() {
	if l.conn != nil {
		l.conn.Close()
		l.conn = nil
	}
}

// storm drops and re-dials the link n times in a row (a flapping GPRS modem).
func (l *legacy) storm(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		l.drop()
		c, err := net.DialTimeout("tcp", l.server, 5*time.Second)
		if err != nil {
			return
		}
		l.dials.Add(1)
		l.conn, l.rd = c, bufio.NewReader(c)
	}
}

func (l *legacy) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop()
}

// registerLegacy registers a legacy device's meter as signed by the
// server's gateway and maps its frame fields to the point's channels.
func (s *Sim) registerLegacy(ctx context.Context, d *Device, intervalS int) error {
	reg := MeterRegistration{ID: d.ID, Point: d.Point.ID, Gateway: s.cfg.Gateway, Signed: string(meter.SignedByGateway), IntervalS: intervalS}
	if _, _, err := s.api.RegisterMeter(ctx, reg); err != nil && !IsExists(err) {
		return fmt.Errorf("sim: register %s device %s (meter %s): %w", d.legacy.proto, d.legacy.device, d.ID, err)
	}
	if err := s.api.PutDeviceMapping(ctx, d.legacy.mapping(d, s.cfg.Gateway)); err != nil {
		if IsExists(err) {
			// A data directory where the meter signs itself (an earlier run
			// without --hj212/--szy206): it stays silent rather than stop the run.
			s.logf("警告 warning: %s device %s cannot be mapped to meter %s (%v); it stays silent", d.legacy.proto, d.legacy.device, d.ID, err)
			d.mu.Lock()
			d.retired = true
			d.mu.Unlock()
			return nil
		}
		return fmt.Errorf("sim: map %s device %s: %w", d.legacy.proto, d.legacy.device, err)
	}
	return nil
}

// legacyStep sends a legacy device's reading of this step in the background.
func (s *Sim) legacyStep(d *Device, at time.Time, values map[string]float64) {
	s.legacyWG.Add(1)
	go func() {
		defer s.legacyWG.Done()
		if err := d.legacy.send(at, values); err != nil {
			s.connectionError(d.ID, err)
		}
	}()
}

// LegacyStats counts the legacy devices' frames.
type LegacyStats struct {
	Devices, Sent, Answered, Refused, Dials uint64
}

// LegacyStats sums the legacy devices' counters.
func (s *Sim) LegacyStats() LegacyStats {
	var st LegacyStats
	for _, d := range s.allDevices() {
		if l := d.legacy; l != nil {
			st.Devices++
			st.Sent += l.sent.Load()
			st.Answered += l.answered.Load()
			st.Refused += l.refused.Load()
			st.Dials += l.dials.Load()
		}
	}
	return st
}
