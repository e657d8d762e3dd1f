package api

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/throttle"
	"github.com/shuixiao/shuixiao/meter"
)

// Gateways is what the API serves of the protocol gateways; nil fields
// leave their routes answering 503.
type Gateways struct {
	// Mappings is the device-mapping registry (internal/gateway).
	Mappings *gateway.Mappings
	// Pusher takes NB-IoT platform callbacks; nil when the server runs no
	// gateway.
	Pusher *gateway.Pusher
	// Stats reports the running gateways' counters (GET /api/v1/gateway/stats).
	Stats func() any
}

// listGateways answers GET /api/v1/gateways: the gateways the caller may
// see (gateway.Visible).
func (s *Server) listGateways(w http.ResponseWriter, r *http.Request, p *Principal) {
	gs, err := gateway.Visible(r.Context(), s.opts.Store, p.sees())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gs)
}

// registerGateway puts a gateway's key on the ledger (internal/registry).
func (s *Server) registerGateway(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may register gateways"))
		return
	}
	var req struct {
		ID           string `json:"id"`
		Key          string `json:"key"`
		Enterprise   string `json:"enterprise"`
		MQTTPassword string `json:"mqtt_password"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	g, idx, err := s.meters.RegisterGateway(r.Context(), registry.GatewayRegistration{ID: req.ID, Key: req.Key, Enterprise: req.Enterprise, MQTTPassword: req.MQTTPassword})
	if err != nil {
		s.failRegistry(w, r, err)
		return
	}
	if idx == 0 {
		writeJSON(w, http.StatusOK, g)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": g.ID, "key": g.Key, "enterprise": g.Enterprise, "revoked": g.Revoked,
		"registered": g.Registered, "index": idx})
}

func (s *Server) revokeGateway(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may revoke gateways"))
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	idx, err := s.meters.RevokeGateway(r.Context(), id, req.Reason)
	if err != nil {
		s.failRegistry(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateway": id, "revoked": true, "index": idx})
}

// pushTimeout bounds how long a push waits for its readings' acknowledgement.
const pushTimeout = 30 * time.Second

// Device mappings hold HJ 212 passwords: admin only.

func (s *Server) listGatewayDevices(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may read device mappings"))
		return
	}
	ds, err := s.mappings().List(r.Context(), r.URL.Query().Get("gateway"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ds == nil {
		ds = []meter.DeviceMapping{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func (s *Server) putGatewayDevice(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may change device mappings"))
		return
	}
	var req struct {
		meter.DeviceMapping
		PushToken string `json:"push_token"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.mappings().Put(r.Context(), req.DeviceMapping, req.PushToken)
	if err != nil {
		s.failMapping(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) deleteGatewayDevice(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may change device mappings"))
		return
	}
	q := r.URL.Query()
	protocol, device := q.Get("protocol"), q.Get("device")
	if protocol == "" || device == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameters protocol and device are required"))
		return
	}
	if err := s.mappings().Delete(r.Context(), protocol, device); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"protocol": protocol, "device": device, "deleted": true})
}

func (s *Server) gatewayStats(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.SeesAll() {
		s.fail(w, r, forbidden())
		return
	}
	if s.opts.Gateways.Stats == nil {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Gateways.Stats())
}

// push takes a frame an NB-IoT platform pushes for a device, authenticated
// by the device's push token (Authorization: Bearer), not by an API token.
func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	pu := s.opts.Gateways.Pusher
	if pu == nil {
		writeError(w, http.StatusServiceUnavailable, "本服务器未运行网关 / this server runs no gateway")
		return
	}
	host := throttle.HostKey(r.RemoteAddr)
	if over, _ := s.authFails.Over(host, s.opts.Now()); over {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(1.5/s.opts.FailedAuth.Rate)))))
		writeError(w, http.StatusTooManyRequests, "too many failed authentications from %s; retry later", host)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "推送需要设备令牌 / a push needs the device's token: Authorization: Bearer TOKEN")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, gateway.MaxPushBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body larger than %d bytes", gateway.MaxPushBody)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pushTimeout)
	defer cancel()
	f, err := pu.Push(ctx, r.PathValue("protocol"), r.URL.Query().Get("device"), []byte(token), body)
	switch {
	case errors.Is(err, gateway.ErrUnauthorized):
		s.authFails.Take(host, s.opts.Now())
		s.failedAuth(r, "unknown device or wrong push token")
		writeError(w, http.StatusUnauthorized, "%v", err)
	case errors.Is(err, gateway.ErrBadFrame):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, gateway.ErrUnknownDevice):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, gateway.ErrRefused):
		writeError(w, http.StatusUnprocessableEntity, "%v", err)
	case err != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"protocol": f.Protocol, "device": f.Device, "accepted": true})
	}
}

// failMapping answers an error of the device-mapping registry.
func (s *Server) failMapping(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, gateway.ErrInvalid):
		err = errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, gateway.ErrConflict):
		err = errorf(http.StatusConflict, "%v", err)
	}
	s.fail(w, r, err)
}

func (s *Server) mappings() *gateway.Mappings {
	if s.opts.Gateways.Mappings != nil {
		return s.opts.Gateways.Mappings
	}
	return &gateway.Mappings{Store: s.opts.Store}
}
