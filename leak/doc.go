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
//   - Detector: a streaming detector fed one time step at a time. Each
//     pressure sensor is predicted from the same step's flow and level
//     readings (inflows, pump flow, tank level: the zone balance that
//     carries the day-to-day demand), by a regression learnt on a leak-free
//     calibration period; the residuals are watched by multivariate EWMA
//     charts (Lowry et al., Technometrics 34(1), 1992) whitened with a
//     cross-validated residual covariance, with limits for a chosen false
//     alarm rate. An alarm's onset is the generalised-likelihood-ratio
//     change point of the residuals; the leak is located by weighted least
//     squares matching of the mean residual since onset with leak
//     signatures that HydraulicModel computes with package network's
//     EPANET solver at the measured operating point (the sensitivity /
//     vector-angle approach of Pérez et al., Control Eng. Pract. 19(10),
//     2011, and of LILA, Daniel et al., JWRPM 148(9), 2022), which also
//     gives the leak flow.
package leak
