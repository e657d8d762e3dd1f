package throttle

import (
	"strings"
	"testing"
	"time"
)

func TestBucketsBounded(t *testing.T) {
	bs := New(Limit{Rate: 1, Burst: 2}, 3)
	now := time.Unix(1000, 0)
	for _, k := range []string{"a", "b", "c"} {
		bs.Take(k, now)
	}
	// The table is full of buckets that still remember: a fourth key shares
	// the overflow bucket.
	for i := 0; i < 2; i++ {
		if ok, _ := bs.Take("d", now); !ok {
			t.Fatalf("take %d of the overflow bucket refused", i)
		}
	}
	if ok, first := bs.Take("e", now); ok || !first {
		t.Errorf("overflow bucket: ok %v first %v", ok, first)
	}
	if ok, first := bs.Take("e", now); ok || first {
		t.Errorf("second refusal: ok %v first %v", ok, first)
	}
	if len(bs.m) > 3+1 {
		t.Errorf("%d buckets", len(bs.m))
	}
	// Once refilled, buckets are forgotten to make room.
	later := now.Add(10 * time.Second)
	if ok, _ := bs.Take("f", later); !ok || len(bs.m) != 1 {
		t.Errorf("after refill: %d buckets", len(bs.m))
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5555":             "127.0.0.1",
		"[2001:db8:1:2:3:4:5:6]:883": "2001:db8:1:2::/64",
		"[::1]:1":                    "::/64",
		"pipe":                       "pipe",
	} {
		if got := HostKey(in); got != want {
			t.Errorf("HostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzHostKey(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1", "[::1]:2", "[fe80::1%eth0]:3", "", ":", "[", "host:port:extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		k := HostKey(remote)
		if len(k) > len(remote)+len("::/64") {
			t.Fatalf("HostKey(%q) = %q grew", remote, k)
		}
		if HostKey(remote) != k {
			t.Fatal("not deterministic")
		}
	})
}

// BenchmarkTake is what each throttled event pays (a device's publish
// budget: 1,000 devices).
func BenchmarkTake(b *testing.B) {
	bs := New(Limit{Rate: 50, Burst: 500}, 100000)
	devs := make([]string, 1000)
	for i := range devs {
		devs[i] = "HN-430300-" + strings.Repeat("0", 3) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		bs.Take(devs[i%len(devs)], now.Add(time.Duration(i)*time.Microsecond))
	}
}
