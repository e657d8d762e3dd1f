package gateway

import (
	"fmt"

	"github.com/shuixiao/shuixiao/internal/ingest"
)

// PipelineSubmitter submits gateway-signed readings to the server's own
// ingest pipeline, as the broker does for a meter's MQTT publish.
type PipelineSubmitter struct{ Pipeline *ingest.Pipeline }

// Submit implements Submitter.
func (p PipelineSubmitter) Submit(signed []byte, source string, done func(error)) {
	p.Pipeline.Submit(signed, "", source, func(r ingest.Result) {
		if r.Reject != nil {
			done(fmt.Errorf("%w: %s: %s", ErrRefused, r.Reject.Reason, r.Reject.Detail))
			return
		}
		done(nil)
	})
}
