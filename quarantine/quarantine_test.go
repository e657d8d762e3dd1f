package quarantine

import "testing"

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 1: 1, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		if got := (Filter{Limit: limit}).PageSize(); got != want {
			t.Errorf("limit %d: page size %d, want %d", limit, got, want)
		}
	}
}
