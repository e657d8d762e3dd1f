// Package sim is a virtual Hunan province that speaks shuixiao's real
// protocols: industrial parks and enterprises in the key water-using
// industries of the Hunan Industrial Water Efficiency Three-Year Action Plan
// (2023-2025), each with a water system (sources, cooling towers, boilers,
// process units, wastewater treatment, reuse) metered at the three levels of
// GB/T 24789-2022, and each meter a device with its own Ed25519 key that signs
// its readings as hn-water-reading/v1 notes and publishes them over MQTT.
//
// The package has three layers:
//
//   - The water model (WaterSystem, Build, WaterSystem.Flows) is pure: given a design and
//     the conditions at an instant (production, air temperature, office
//     occupancy, leaks) it returns every stream's flow. Its volumes close:
//     for each unit and for the whole enterprise, what goes in comes out as
//     consumption (耗水), discharge (排水) and leakage (漏失), the balance of
//     GB/T 12452-2022. Cooling towers follow M = E + B + D with the GB/T 50050
//     evaporation coefficient; recirculation is sized so that the plant meets
//     its industry's reuse rate R = Vr/(Vr+Vi).
//   - The province (Generate) places enterprises of each archetype in the
//     parks the plan names, deterministically from a seed, and derives their
//     metering points and meters.
//   - The devices (Chain, Conn, Device) sign and publish readings with
//     store-and-forward, and Sim runs the whole province against a server:
//     it registers parks, enterprises, points and meter keys through the HTTP
//     API, publishes readings, writes the acknowledgement log and applies
//     fault injections (offline, reset, replace, leak, replay,
//     forged-signature, tamper, skew, pipe-leak, ro-seal).
//   - The park network (ParkModel, Config.ParkNetwork): the supply network
//     of the park with the most enterprises, simulated over time with package
//     network's solver (demand patterns with noise, a pump and a tank under
//     control, leaks as emitters); its water utility's pressure, flow, level
//     and customer meters publish like every other meter, and the network is
//     registered for leak monitoring.
//
// Numbers taken from the plan or a standard (intake per unit product, reuse
// rates, evaporation coefficients, meter accuracy) live in the embedded
// tables under data/ with their source and a verified flag; the plant
// templates in templates.go are engineering assumptions and say so.
package sim
