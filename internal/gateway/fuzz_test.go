package gateway

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

// FuzzParsePushBody: a push body either decodes to a frame whose device and
// values pass the checks, or is refused with ErrBadFrame; never a panic.
func FuzzParsePushBody(f *testing.F) {
	f.Add([]byte(`{"device":"88888880000001","time":"2026-12-01T08:00:00+08:00","values":{"w00000-Cou":12.5},"flags":{"w00000-Cou":"N"}}`))
	f.Add([]byte(`{"device":"a b","time":"2026-12-01T08:00:00Z","values":{}}`))
	f.Add([]byte(`{"device":"x","time":"1999-12-01T08:00:00Z","values":{"a":1}}{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := ParsePushBody(body)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error %v is not ErrBadFrame", err)
			}
			return
		}
		if fr.Protocol != ProtocolPush || fr.Device == "" || len(fr.Values) == 0 {
			t.Fatalf("accepted %+v", fr)
		}
	})
}

// FuzzParseFileRegistry: an edge registry file either parses with every
// mapped meter and every meter's point present, or is an error.
func FuzzParseFileRegistry(f *testing.F) {
	total, _ := meter.StandardChannel("total_m3")
	good, _ := json.Marshal(map[string]any{
		"devices": []meter.DeviceMapping{szyMapping},
		"meters":  []meter.Meter{{ID: "V-INT", Point: "I-1", Signed: meter.SignedByGateway, Gateway: "GW-1"}},
		"points": []meter.Point{{ID: "I-1", Enterprise: "EN", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
			Source: meter.SourceSurface, Channels: []meter.Channel{total}}},
	})
	f.Add(good)
	f.Add([]byte(`{"devices":[{"protocol":"hj212","device":"1","gateway":"G","fields":[{"field":"a","meter":"M","channel":"c","kind":"rate"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseFileRegistry(b)
		if err != nil {
			return
		}
		for _, d := range r.devices {
			for _, fm := range d.Fields {
				m, ok := r.meters[fm.Meter]
				if !ok {
					t.Fatalf("mapped meter %s missing", fm.Meter)
				}
				if _, ok := r.points[m.Point]; !ok {
					t.Fatalf("point %s of %s missing", m.Point, m.ID)
				}
			}
		}
	})
}
