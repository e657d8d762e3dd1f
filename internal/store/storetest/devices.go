package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
)

func testDeviceSecrets(t *testing.T, s deviceStore) {
	ctx := context.Background()
	fixture(t, s)
	ids := []string{"M-1"}
	if _, err := s.DeviceSecret(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before any secret: %v", err)
	}
	if err := s.SetDeviceSecret(ctx, "no-such-meter", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("secret of an unregistered meter: %v", err)
	}
	for _, rec := range []string{"salt$hash1", "salt$hash2"} {
		if err := s.SetDeviceSecret(ctx, ids[0], rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.DeviceSecret(ctx, ids[0])
		if err != nil || got != rec {
			t.Fatalf("got %q, %v; want %q", got, err, rec)
		}
	}
	if got, err := s.DeviceSecret(ctx, ids[0]); err != nil || got != "salt$hash2" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
}
