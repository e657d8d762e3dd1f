package gateway

import (
	"context"

	"github.com/shuixiao/shuixiao/meter"
)

// Lister is what listing gateways reads: the registered gateways and the
// enterprises edge boxes belong to.
type Lister interface {
	Gateways(ctx context.Context) ([]meter.Gateway, error)
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
}

// Visible lists the registered gateways a caller may see. The server's own
// gateway (no enterprise) is seen by every caller; an edge box only by a
// caller who sees its enterprise (sees; nil sees every enterprise), and by
// none when that enterprise cannot be read. The list is empty, not nil,
// when the caller sees none.
func Visible(ctx context.Context, st Lister, sees func(meter.Enterprise) bool) ([]meter.Gateway, error) {
	gs, err := st.Gateways(ctx)
	if err != nil {
		return nil, err
	}
	out := []meter.Gateway{}
	seen := map[string]bool{} // enterprise → the caller sees it (read once)
	for _, g := range gs {
		if g.Enterprise == "" || sees == nil {
			out = append(out, g)
			continue
		}
		ok, known := seen[g.Enterprise]
		if !known {
			e, err := st.Enterprise(ctx, g.Enterprise)
			ok = err == nil && sees(e)
			seen[g.Enterprise] = ok
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}
