// Package leak detects, sizes and locates leaks in a pressurised water
// distribution network from SCADA pressure, flow and tank-level readings,
// and scores leak reports with the rules of the Battle of the Leakage
// Detection and Isolation Methods (BattLeDIM 2020, Vrachimis et al., J.
// Water Resour. Plann. Manage. 148(12), 2022).
//
// The pieces:
//
//   - PipeGraph: the pipe network as a weighted graph and BattLeDIM's
//     pipe-to-pipe distance (shortest path between end nodes over pipes
//     only, plus half of each pipe's length).
//   - Score: the official BattLeDIM 2020 scoring algorithm
//     (Scoring_Algorithm.m / scoring_function.m), reproduced to the cent
//     on the competition's own fixtures.
//   - ReadSCADA: a strict reader of 5-minute SCADA tables (t_s, P_<node>,
//     Q_<link>, L_<tank>) that names the line or column of every defect.
//   - Detector: a streaming detector fed one time step at a time. It
//     combines a zone mass balance of the inflows (with a minimum-night-flow
//     view of the same residual) and model-based pressure residuals
//     (measured − simulated with the public model), calibrated on a
//     leak-free period and watched by CUSUM charts set for a chosen false
//     alarm rate; it locates an alarm by matching the residual with leak
//     signatures computed by a hydraulic model (the vector-angle /
//     correlation method of Pérez et al. 2011 and the LILA approach of
//     Daniel et al. 2022) and sizes it from the inflow residual.
package leak
