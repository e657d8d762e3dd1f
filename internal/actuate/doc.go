// Package actuate is where set-points and commands are made safe and sent to
// devices, and the only such place: every output of the control loops
// (package control) and every operator action passes the interlocks of its
// actuator here — bounds (a dosing pump's maximum dose rate, a valve's
// travel), allowed values, rate-of-change limits, manual override and
// lock-out, and the fail-safe value when the sensors behind a request are
// stale, invalid or not numbers (Actuator.Decide, pure and total).
//
// A command that passes is recorded before it is sent: as an
// hn-water-command/v1 entry in the ledger (package reading, signed by the
// log key) with its cause — the controller or operator, the rule, the sensor
// values and indices behind it, the bounds in force and the interlocks that
// shaped it — and in the store. It is then published at QoS 1 on the
// device's own topic shuixiao/v1/commands/<device> (docs/mqtt.md) and
// republished until the device acknowledges it on shuixiao/v1/acks/<device>
// or the retries run out, which raises an alarm. The outcome (ack, nack or
// timeout) is a second ledger entry, so an auditor holding only the log key
// can list every command, check that none exceeded its bounds and see which
// the devices confirmed (package verify).
//
// Time: rates and staleness are in seconds of process time, given by the
// caller with each step (a simulated plant runs faster than the wall clock);
// acknowledgement timeouts and refreshes are in wall-clock time.
package actuate
