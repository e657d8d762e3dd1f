package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

func TestGatewayOnTheLedger(t *testing.T) {
	ms, st, lg, d := setup(t)
	ctx := context.Background()
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("GW-1"))
	if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "GW-1", Key: key(t, "GW-1")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("gateway with a meter key: %v", err)
	}
	if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "GW-1", Key: gkey, Enterprise: "NOPE"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("gateway of an unknown enterprise: %v", err)
	}
	g, idx, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "GW-1", Key: gkey, Enterprise: "EN"})
	if err != nil || g.Key != gkey || g.Enterprise != "EN" {
		t.Fatalf("register: %+v %v", g, err)
	}
	if size, _ := lg.Size(ctx); size != idx+1 || len(d.registered) != 1 || d.registered[0] != "gateway/GW-1" {
		t.Fatalf("ledger size %d, entry %d, devices %v", size, idx, d.registered)
	}
	if _, idx2, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "GW-1", Key: gkey, Enterprise: "EN"}); err != nil || idx2 != 0 {
		t.Fatalf("same gateway again: %d %v", idx2, err)
	}
	if _, err := ms.Register(ctx, Registration{ID: "V-1", Point: "PT-1", Gateway: "GW-1", Key: key(t, "V-1")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("gateway meter with its own key: %v", err)
	}
	got, err := ms.Register(ctx, Registration{ID: "V-1", Point: "PT-1", Gateway: "GW-1"})
	if err != nil || got.Meter.Gateway != "GW-1" || got.Meter.Signed != meter.SignedByGateway || got.Meter.Trust() != reading.TrustGateway {
		t.Fatalf("gateway meter: %+v %v", got, err)
	}
	if _, err := ms.RevokeGateway(ctx, "GW-1", "box replaced"); err != nil {
		t.Fatal(err)
	}
	if g, err := st.Gateway(ctx, "GW-1"); err != nil || !g.Revoked {
		t.Fatalf("after revocation: %+v %v", g, err)
	}
	if _, err := ms.Register(ctx, Registration{ID: "V-2", Point: "PT-1", Gateway: "GW-1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("meter of a revoked gateway: %v", err)
	}
	if _, err := ms.RevokeGateway(ctx, "GW-1", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second revocation: %v", err)
	}
}
