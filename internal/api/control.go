package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/internal/store"
)

// Plants is what the API needs of the control loops (control.Runner).
type Plants interface {
	Plants() []*control.PlantConfig
	Config(id string) (*control.PlantConfig, error)
	Live(id string) (*control.Live, error)
	History(id string) ([]control.HistoryPoint, error)
	RegisterPlant(ctx context.Context, cfg *control.PlantConfig) error
	SetSetpoint(ctx context.Context, plant, name string, value float64, by, reason string) (command.Record, error)
	SetMode(ctx context.Context, plant, actuator, mode string, value float64, by, reason string) (command.Record, error)
	AcceptMaxCycles(ctx context.Context, plant string, seen float64, by, reason string) (command.Record, error)
	ROTrend(plant string, series map[string][]control.TimedValue, from, to time.Time, n int) ([]control.ROPoint, error)
}

// errNoControl answers when the server runs no control loops.
var errNoControl = errorf(http.StatusNotImplemented, "this server runs no control loops")

// plantInScope returns a plant's configuration if the caller may see its enterprise.
func (s *Server) plantInScope(ctx context.Context, p *Principal, id string) (*control.PlantConfig, error) {
	if s.opts.Plants == nil {
		return nil, errNoControl
	}
	cfg, err := s.opts.Plants.Config(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.enterprise(ctx, p, cfg.Enterprise); err != nil {
		return nil, err
	}
	return cfg, nil
}

// canOperate reports whether the caller may change a plant's set-points and
// actuator modes: an admin, or the plant's own enterprise.
func canOperate(p *Principal, cfg *control.PlantConfig) bool {
	return p.Admin() || p.Token.Role == store.RoleEnterprise && p.Token.Scope == cfg.Enterprise
}

// plantSummary is a plant in the list.
type plantSummary struct {
	ID         string      `json:"id"`
	Enterprise string      `json:"enterprise"`
	Name       string      `json:"name"`
	NameEN     string      `json:"name_en,omitempty"`
	TimeScale  float64     `json:"time_scale"`
	Tower      bool        `json:"tower"`
	Reuse      bool        `json:"reuse"`
	Updated    time.Time   `json:"updated,omitzero"`
	Cycles     control.Num `json:"cycles"`
	ProductMgL control.Num `json:"product_mg_l"`
	LSI        control.Num `json:"lsi"`
	Alarms     int         `json:"alarms"`
	Locked     []string    `json:"locked,omitempty"`
	Live       bool        `json:"live"`
	Actuators  int         `json:"actuators"`
}

func (s *Server) listPlants(w http.ResponseWriter, r *http.Request, p *Principal) {
	if s.opts.Plants == nil {
		s.fail(w, r, errNoControl)
		return
	}
	ent := r.URL.Query().Get("enterprise")
	if ent != "" {
		if _, err := s.enterprise(r.Context(), p, ent); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	out := []plantSummary{}
	for _, cfg := range s.opts.Plants.Plants() {
		if ent != "" && cfg.Enterprise != ent {
			continue
		}
		if _, err := s.enterprise(r.Context(), p, cfg.Enterprise); err != nil {
			continue // outside the caller's scope: left out of lists
		}
		sum := plantSummary{ID: cfg.ID, Enterprise: cfg.Enterprise, Name: cfg.Name, NameEN: cfg.NameEN, TimeScale: cfg.TimeScale,
			Tower: cfg.Tower != nil, Reuse: cfg.Reuse != nil, Actuators: len(cfg.Actuators),
			Cycles: control.Num(math.NaN()), ProductMgL: control.Num(math.NaN()), LSI: control.Num(math.NaN())}
		if l, _ := s.opts.Plants.Live(cfg.ID); l != nil {
			sum.Live, sum.Updated, sum.Alarms = true, l.Time, len(l.Alarms)
			if l.Tower != nil {
				sum.Cycles, sum.ProductMgL = l.Tower.Cycles, l.Tower.ProductMgL
			}
			if l.Indices != nil {
				sum.LSI = l.Indices.LSI
			}
			for _, a := range l.Actuators {
				if a.Mode != command.ModeAuto {
					sum.Locked = append(sum.Locked, a.Name+":"+a.Mode)
				}
			}
		}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

// registerPlant registers or replaces a plant's control configuration (admin).
func (s *Server) registerPlant(w http.ResponseWriter, r *http.Request, p *Principal) {
	if s.opts.Plants == nil {
		s.fail(w, r, errNoControl)
		return
	}
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may register plant configurations"))
		return
	}
	var cfg control.PlantConfig
	if err := decode(r, &cfg); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.opts.Plants.RegisterPlant(r.Context(), &cfg); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, &cfg)
}

func (s *Server) getPlant(w http.ResponseWriter, r *http.Request, p *Principal) {
	cfg, err := s.plantInScope(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	live, _ := s.opts.Plants.Live(cfg.ID)
	writeJSON(w, http.StatusOK, map[string]any{"config": cfg, "live": live, "can_operate": canOperate(p, cfg)})
}

func (s *Server) plantHistory(w http.ResponseWriter, r *http.Request, p *Principal) {
	cfg, err := s.plantInScope(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.opts.Plants.History(cfg.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) plantCommands(w http.ResponseWriter, r *http.Request, p *Principal) {
	cfg, err := s.plantInScope(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := s.commandQuery(r, cfg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.opts.Controls.Commands(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []command.Record{}
	}
	writeJSON(w, http.StatusOK, cs)
}

func (s *Server) commandQuery(r *http.Request, cfg *control.PlantConfig) (command.Query, error) {
	if s.opts.Controls == nil {
		return command.Query{}, errNoControl
	}
	limit, err := intParam(r, "limit", 200, 1, 5000)
	if err != nil {
		return command.Query{}, err
	}
	from, err := s.timeParam(r, "from", time.Time{})
	if err != nil {
		return command.Query{}, err
	}
	to, err := s.timeParam(r, "to", time.Time{})
	if err != nil {
		return command.Query{}, err
	}
	q := r.URL.Query()
	return command.Query{Plant: cfg.ID, Actuator: q.Get("actuator"), Device: q.Get("device"), Kind: q.Get("kind"),
		From: from, To: to, Limit: limit}, nil
}

// setpointRequest is the body of POST /plants/{id}/setpoints.
type setpointRequest struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Reason string  `json:"reason"`
}

// modeRequest is the body of POST /plants/{id}/actuators/{name}/mode.
type modeRequest struct {
	Mode   string  `json:"mode"`
	Value  float64 `json:"value"`
	Reason string  `json:"reason"`
}

func (s *Server) changeSetpoint(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req setpointRequest
	s.operate(w, r, p, &req, "change set-points", func(ctx context.Context, plant, by string) (command.Record, error) {
		return s.opts.Plants.SetSetpoint(ctx, plant, req.Name, req.Value, by, req.Reason)
	})
}

// acceptCyclesRequest is the body of POST /plants/{id}/cooling/accept-cycles:
// the optimiser's figure the operator saw.
type acceptCyclesRequest struct {
	MaxCycles float64 `json:"max_cycles"`
	Reason    string  `json:"reason"`
}

// acceptCycles makes the cycles optimiser's limit the blowdown set-point.
func (s *Server) acceptCycles(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req acceptCyclesRequest
	s.operate(w, r, p, &req, "change set-points", func(ctx context.Context, plant, by string) (command.Record, error) {
		return s.opts.Plants.AcceptMaxCycles(ctx, plant, req.MaxCycles, by, req.Reason)
	})
}

func (s *Server) changeMode(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req modeRequest
	s.operate(w, r, p, &req, "override or lock out actuators", func(ctx context.Context, plant, by string) (command.Record, error) {
		return s.opts.Plants.SetMode(ctx, plant, r.PathValue("name"), req.Mode, req.Value, by, req.Reason)
	})
}

// operate runs an operator's change of a plant: the caller must see the
// plant and be an admin or the plant's own enterprise; body is decoded into
// req before do runs; the record of the change answers 201.
func (s *Server) operate(w http.ResponseWriter, r *http.Request, p *Principal, req any, what string,
	do func(ctx context.Context, plant, by string) (command.Record, error)) {
	cfg, err := s.plantInScope(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canOperate(p, cfg) {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin or the plant's own enterprise may %s (无权操作)", what))
		return
	}
	if err := decode(r, req); err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := do(r.Context(), cfg.ID, "token:"+p.Token.ID)
	if err != nil {
		s.failControl(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rec)
}

// failControl answers an operator change the interlocks refused with 400,
// and one over the operators' rate limit with 429.
func (s *Server) failControl(w http.ResponseWriter, r *http.Request, err error) {
	if tf := (*actuate.TooFastError)(nil); errors.As(err, &tf) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(tf.Retry.Seconds())))))
		s.fail(w, r, errorf(http.StatusTooManyRequests, "%v", err))
		return
	}
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, actuate.ErrMode) {
		s.fail(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	s.fail(w, r, err)
}

// window parses from/to with a default of the last day.
func (s *Server) window(r *http.Request) (time.Time, time.Time, error) {
	now := s.opts.Now()
	to, err := s.timeParam(r, "to", now)
	if err != nil {
		return to, to, err
	}
	from, err := s.timeParam(r, "from", to.Add(-24*time.Hour))
	if err != nil {
		return from, to, err
	}
	if !to.After(from) || to.Sub(from) > 400*24*time.Hour {
		return from, to, errorf(http.StatusBadRequest, "want from before to, at most 400 days apart")
	}
	return from, to, nil
}

// roTrend answers the RO normalised trend (ASTM D4516) over a window with the
// cleanings as markers.
func (s *Server) roTrend(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	cfg, err := s.plantInScope(ctx, p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if cfg.Reuse == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "plant %s has no reuse train", cfg.ID))
		return
	}
	from, to, err := s.window(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := intParam(r, "points", 200, 2, 2000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series := map[string][]control.TimedValue{}
	for role, sensor := range cfg.Reuse.ROSensors() {
		err := s.opts.Store.ScanReadings(ctx, store.ReadingQuery{Meter: sensor.Meter, From: from, To: to, Limit: store.MaxRawBuckets}, func(rd *store.Reading) error {
			if v, ok := rd.Value(sensor.Channel); ok {
				series[role] = append(series[role], control.TimedValue{T: rd.Time, V: v})
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	pts, err := s.opts.Plants.ROTrend(cfg.ID, series, from, to, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var marks []control.Marker
	if s.opts.Controls != nil {
		cmds, err := s.opts.Controls.Commands(ctx, command.Query{Plant: cfg.ID, Actuator: cfg.Reuse.Actuators.RO, From: from, To: to, Limit: 5000})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		marks = control.Markers(cmds, cfg.Reuse.Actuators.RO, control.ROCleaning)
	}
	if pts == nil {
		pts = []control.ROPoint{}
	}
	if marks == nil {
		marks = []control.Marker{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"plant": cfg.ID, "from": from, "to": to, "points": pts, "cleanings": marks,
		"reference": cfg.Reuse.RO.Reference, "thresholds": cfg.Reuse.RO.Thresholds})
}

// sequenceTimeline answers the UF cycle timeline (filtration, backwash,
// CEB, CIP) with the multimedia filter's and the RO's beside it.
func (s *Server) sequenceTimeline(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	cfg, err := s.plantInScope(ctx, p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if cfg.Reuse == nil || s.opts.Controls == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "plant %s has no reuse train", cfg.ID))
		return
	}
	from, to, err := s.window(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"plant": cfg.ID, "from": from, "to": to}
	for _, seq := range []struct {
		key, actuator string
		name          func(int) string
	}{{"uf", cfg.Reuse.Actuators.UF, control.UFModeName}, {"mmf", cfg.Reuse.Actuators.MMF, control.MMFModeName},
		{"ro", cfg.Reuse.Actuators.RO, control.ROModeName}} {
		// The mode at the window's start comes from the last command before it.
		before, err := s.opts.Controls.Commands(ctx, command.Query{Plant: cfg.ID, Actuator: seq.actuator, Kind: command.KindIssue, To: from, Limit: 1})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		within, err := s.opts.Controls.Commands(ctx, command.Query{Plant: cfg.ID, Actuator: seq.actuator, Kind: command.KindIssue, From: from, To: to, Limit: 5000})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		segs := control.Timeline(append(before, within...), seq.actuator, from, to, seq.name)
		if segs == nil {
			segs = []control.Segment{}
		}
		out[seq.key] = segs
	}
	writeJSON(w, http.StatusOK, out)
}
