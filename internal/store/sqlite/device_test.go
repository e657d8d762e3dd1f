package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
)

func TestDeviceSecrets(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{ManualCompaction: true})
	ids := setup(t, s, 1)
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
	s.Close()
	s2, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, err := s2.DeviceSecret(ctx, ids[0]); err != nil || got != "salt$hash2" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
}
