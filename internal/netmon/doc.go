// Package netmon monitors the pipe networks registered in the platform for
// leaks (the plan's 工业管网漏损监测与智能诊断系统): a park's or plant's
// EPANET model, its sensors mapped to metering points, its district metered
// areas, and a streaming leak detector that runs on the readings the ingest
// pipeline commits.
//
// The pieces:
//
//   - Config: which metering point measures which node (pressure, converted
//     from MPa to metres of head), link (flow) or tank (level); the zones
//     with their boundary and customer meters; the detector's settings;
//     and the Clock that relates network time (which the model's demand
//     patterns follow) to the readings' time stamps.
//   - Assembler: readings arrive one meter at a time, late or not at all;
//     it builds one row of sensor values per detector step, holding a
//     sensor's last value for a few steps and skipping steps it cannot fill.
//   - ReferenceModel: the network's model set to each step's measured state
//     (tank levels, pumps, and the demands scaled so that the modelled
//     inflow equals the measured one). The detector of package leak watches
//     the measured-minus-modelled pressures, so that the solver carries the
//     pumps, tanks and daily patterns and the detector's regression only the
//     model's error; leak signatures are computed in the same residual space
//     (a leak concentrated at a node against the same flow spread over the
//     demands: the sensitivity matching of Pérez et al., Control Eng. Pract.
//     19(10), 2011, with demand calibration on the source meters).
//   - Watcher and Monitor: one detector per network, calibrated on the
//     first leak-free period it sees (or on the stored history after a
//     restart); a detection becomes a leak alarm with its estimated start,
//     flow and ranked candidate pipes; the detector holds until the alarm
//     is cleared (the repair work order is closed) and then re-arms.
//   - BalanceZones: each zone's inflow against its customers' metered
//     consumption per bucket, the difference, and the minimum night flow.
//   - SolveState: the network's heads, pressures and flows at an instant,
//     beside the measured values, for the map.
//   - WaterLost: the water a leak lost while its work order was open.
package netmon
