package broker

import "github.com/shuixiao/shuixiao/internal/throttle"

// Limit is a token bucket's size and refill (throttle.Limit).
type Limit = throttle.Limit
