// The network view's pure logic: API types of the pipe-network endpoints
// (docs/api.md, "networks"), the network clock, colour scales, the map's
// nodes and edges with leak candidates highlighted, and the zone-balance
// series. No DOM and no ECharts here, so that Vitest can check it.

import type { Alarm } from '../app/api';

export interface NetNode {
  id: string;
  kind: string; // JUNCTION | RESERVOIR | TANK
  x: number;
  y: number;
  has_coords: boolean;
  elevation: number;
  base_demand?: number;
  zone?: string;
}

export interface NetLink {
  id: string;
  kind: string; // PIPE | CVPIPE | PUMP | PRV …
  from: string;
  to: string;
  length?: number;
  diameter?: number;
}

export interface SensorConfig {
  kind: 'pressure' | 'flow' | 'level' | string;
  element: string;
  point: string;
  channel?: string;
}

export interface ZoneConfig {
  id: string;
  name: string;
  name_en?: string;
  tag?: string;
  inflows: { point: string; link?: string; sign?: number }[];
  consumers?: string[];
}

export interface NetClock {
  speed?: number;
  epoch?: string;
}

export interface NetConfig {
  sensors: SensorConfig[];
  zones?: ZoneConfig[];
  detection?: { step_s?: number; calibration_days?: number };
  clock?: NetClock;
}

export interface DetectorStatus {
  steps: number;
  errors: number;
  calibration_steps: number;
  calibrated: boolean;
  last_step?: string;
  statistics?: number[];
  thresholds?: number[];
  watching: boolean;
  assembler?: { rows: number; held: number; skipped: number; late: number };
  last_error?: string;
}

export interface MonitorStatus {
  network: string;
  error?: string;
  open_alarm?: number;
  detector?: DetectorStatus;
}

export interface NetworkSummary {
  id: string;
  name: string;
  name_en?: string;
  park?: string;
  enterprise?: string;
  created?: string;
  updated?: string;
  junctions: number;
  links: number;
  sensors: number;
  zones: number;
  monitor?: MonitorStatus;
}

export interface NetworkDetail {
  network: NetworkSummary;
  config: NetConfig;
  nodes: NetNode[];
  links: NetLink[];
}

export interface SensorState {
  kind: string;
  element: string;
  point: string;
  channel: string;
  measured: number | null;
  read_at?: string;
  modelled: number;
}

export interface NetState {
  time: string;
  network_time: string;
  measured: boolean;
  demand_multiplier: number;
  nodes: { id: string; head: number; pressure: number; demand: number }[];
  links: { id: string; flow: number; velocity: number; headloss: number; status: string }[];
  sensors: SensorState[];
}

export interface LeakCandidate {
  rank: number;
  link: string;
  node: string;
  flow_m3h: number;
  misfit: number;
}

export interface WorkOrder {
  id: number;
  network: string;
  alarm?: number;
  park?: string;
  enterprise?: string;
  title: string;
  state: 'open' | 'assigned' | 'closed' | string;
  created: string;
  created_by?: string;
  assignee?: string;
  assigned?: string;
  closed?: string;
  closed_by?: string;
  repaired_link?: string;
  note?: string;
  leak_start?: string;
  leak_flow_m3h: number;
  /** null when the order's leak start or flow are out of bounds (see invalid) */
  water_lost_m3: number | null;
  invalid?: string;
}

export interface LeakEntry {
  alarm: Alarm;
  leak: { alarm: number; network: string; start: string; detected?: string; raised: string; flow_m3h: number; candidates: LeakCandidate[] };
  work_order?: WorkOrder;
  water_lost_m3: number | null;
}

export interface ZoneSeries {
  id: string;
  name: string;
  name_en?: string;
  inflow_m3h: (number | null)[];
  consumption_m3h: (number | null)[];
  loss_m3h: (number | null)[];
  inflow_m3: number;
  consumption_m3: number;
  loss_m3: number;
  loss_share: number;
  mnf: { t: string; inflow_m3h: number; loss_m3h: number | null }[];
  missing?: string[];
}

export interface ZoneBalance {
  network: string;
  bucket_s: number;
  t: string[];
  zones: ZoneSeries[];
}

/** speedOf is the clock's speed (1 for a real network). */
export function speedOf(c: NetClock | undefined): number {
  return c?.speed && c.speed > 0 ? c.speed : 1;
}

/**
 * networkMs maps a real instant to network time (ms): the time the model's
 * demand patterns follow. A simulated network may run its days faster.
 */
export function networkMs(c: NetClock | undefined, realMs: number): number {
  const s = speedOf(c);
  if (s === 1 || !c?.epoch) return realMs;
  const e = Date.parse(c.epoch);
  return e + (realMs - e) * s;
}

/** realMs is the inverse of networkMs. */
export function realMs(c: NetClock | undefined, netMs: number): number {
  const s = speedOf(c);
  if (s === 1 || !c?.epoch) return netMs;
  const e = Date.parse(c.epoch);
  return e + (netMs - e) / s;
}

/** Palettes: pressure from red (low) to blue (high); flow from pale to deep blue. */
export const PRESSURE_COLORS = ['#d0453a', '#f29e4c', '#f6d860', '#8cc084', '#3a8fc8', '#1f4e96'];
export const FLOW_COLORS = ['#c9dcec', '#8fbcdc', '#4a94c8', '#1f6fb2', '#0d3f78'];

/** scaleColor interpolates a palette at v in [lo, hi] (clamped). */
export function scaleColor(v: number, lo: number, hi: number, palette: string[]): string {
  if (!Number.isFinite(v) || palette.length === 0) return '#8c96a0';
  const f = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
  const pos = f * (palette.length - 1);
  const i = Math.min(Math.floor(pos), palette.length - 2);
  if (palette.length === 1) return palette[0];
  const a = hex(palette[i]);
  const b = hex(palette[i + 1]);
  const w = pos - i;
  const mix = (k: number) => Math.round(a[k] + (b[k] - a[k]) * w);
  return `#${[mix(0), mix(1), mix(2)].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

function hex(c: string): [number, number, number] {
  const n = parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** robustRange is the 2nd–98th percentile range of the finite values. */
export function robustRange(values: number[]): [number, number] {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return [0, 1];
  const q = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))];
  const lo = q(0.02);
  const hi = q(0.98);
  return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
}

export type MapMode = 'pressure' | 'flow';

export interface MapNode {
  id: string;
  name: string;
  x: number;
  y: number;
  value: number | null;
  symbol: string;
  symbolSize: number;
  itemStyle: { color: string; borderColor: string; borderWidth: number };
  label?: { show: boolean; formatter: string; position: string; color?: string; fontWeight?: string };
  kind: string;
  zone?: string;
  sensor?: string;
  candidateRank?: number;
}

export interface MapEdge {
  id: string;
  source: string;
  target: string;
  value: number | null;
  kind: string;
  lineStyle: { color: string; width: number; type?: string; opacity?: number };
  label?: { show: boolean; formatter: string; color: string; fontWeight: string };
  candidateRank?: number;
}

export interface MapData {
  nodes: MapNode[];
  edges: MapEdge[];
  range: [number, number];
  /** IDs of the highlighted candidate pipes, best first */
  highlighted: string[];
}

/** candidateStyle: rank 1 red and thick, 2–3 orange, the rest amber. */
export function candidateStyle(rank: number): { color: string; width: number } {
  if (rank === 1) return { color: '#c62828', width: 7 };
  if (rank <= 3) return { color: '#ef6c00', width: 5 };
  return { color: '#f9a825', width: 4 };
}

/**
 * mapData builds the graph of a network for the map: nodes at their
 * coordinates (y up), coloured by pressure in 'pressure' mode; links
 * coloured and sized by |flow| in 'flow' mode; sensors marked; and the
 * candidate pipes of a leak highlighted over both.
 */
export function mapData(detail: NetworkDetail, state: NetState | null, mode: MapMode, candidates: LeakCandidate[] = []): MapData {
  const pressure = new Map(state?.nodes.map((n) => [n.id, n.pressure]) ?? []);
  const flow = new Map(state?.links.map((l) => [l.id, l.flow]) ?? []);
  const sensorAt = new Map<string, string>();
  for (const s of detail.config.sensors ?? []) sensorAt.set(`${s.kind === 'flow' ? 'l' : 'n'}:${s.element}`, s.kind);
  const junctionP = detail.nodes.filter((n) => n.kind === 'JUNCTION').map((n) => pressure.get(n.id) ?? NaN);
  const flows = detail.links.map((l) => Math.abs(flow.get(l.id) ?? NaN));
  const range = mode === 'pressure' ? robustRange(junctionP) : robustRange(flows);
  const rankOfLink = new Map<string, number>();
  const rankOfNode = new Map<string, number>();
  for (const c of candidates) {
    if (!rankOfLink.has(c.link)) rankOfLink.set(c.link, c.rank);
    if (!rankOfNode.has(c.node)) rankOfNode.set(c.node, c.rank);
  }
  const nodes: MapNode[] = detail.nodes.map((n) => {
    const p = pressure.get(n.id);
    const sensor = sensorAt.get(`n:${n.id}`);
    const rank = rankOfNode.get(n.id);
    let symbol = 'circle';
    let size = 7;
    let color = '#8c96a0';
    if (n.kind === 'RESERVOIR') {
      symbol = 'rect';
      size = 16;
      color = '#1f6fb2';
    } else if (n.kind === 'TANK') {
      symbol = 'roundRect';
      size = 16;
      color = '#2e9e6b';
    } else if (mode === 'pressure' && p !== undefined) {
      color = scaleColor(p, range[0], range[1], PRESSURE_COLORS);
      size = 9;
    }
    if (sensor) {
      symbol = sensor === 'level' ? symbol : 'triangle';
      size = Math.max(size, 12);
    }
    const node: MapNode = {
      id: n.id,
      name: n.id,
      x: n.x,
      // Screen y grows downwards; the model's grows upwards.
      y: -n.y,
      value: p ?? null,
      symbol,
      symbolSize: size,
      itemStyle: { color, borderColor: sensor ? '#263238' : '#ffffff', borderWidth: sensor ? 1.5 : 1 },
      kind: n.kind,
      zone: n.zone,
      sensor,
    };
    if (rank !== undefined) {
      node.candidateRank = rank;
      node.itemStyle = { color, borderColor: candidateStyle(rank).color, borderWidth: 3 };
      node.symbolSize = Math.max(node.symbolSize, 12);
    }
    if (n.kind !== 'JUNCTION') node.label = { show: true, formatter: n.id, position: 'right' };
    return node;
  });
  const maxFlow = range[1] > 0 ? range[1] : 1;
  const edges: MapEdge[] = detail.links.map((l) => {
    const q = flow.get(l.id);
    const rank = rankOfLink.get(l.id);
    let color = '#9aa5b1';
    let width = l.diameter ? Math.min(4, Math.max(1.2, l.diameter / 100)) : 2;
    if (mode === 'flow' && q !== undefined) {
      color = scaleColor(Math.abs(q), range[0], range[1], FLOW_COLORS);
      width = 1.5 + 4 * Math.min(1, Math.abs(q) / maxFlow);
    }
    const edge: MapEdge = {
      id: l.id,
      source: l.from,
      target: l.to,
      value: q ?? null,
      kind: l.kind,
      lineStyle: { color, width, type: l.kind === 'PUMP' ? 'dashed' : 'solid', opacity: 0.95 },
    };
    if (sensorAt.has(`l:${l.id}`)) edge.lineStyle = { ...edge.lineStyle, color: mode === 'flow' ? color : '#455a64', width: Math.max(width, 3) };
    if (rank !== undefined) {
      const st = candidateStyle(rank);
      edge.candidateRank = rank;
      edge.lineStyle = { color: st.color, width: st.width, type: 'solid', opacity: 1 };
      edge.label = { show: rank <= 3, formatter: `#${rank} ${l.id}`, color: st.color, fontWeight: 'bold' };
    }
    return edge;
  });
  const highlighted = [...rankOfLink.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  return { nodes, edges, range, highlighted };
}

/** ZoneChart is one zone's series on a network-time axis (ms). */
export interface ZoneChart {
  x: number[];
  inflow: (number | null)[];
  consumption: (number | null)[];
  loss: (number | null)[];
  mnf: { x: number; y: number }[];
}

/** zoneChart returns a zone's series with instants moved to network time. */
export function zoneChart(zb: ZoneBalance, zoneID: string, clock: NetClock | undefined): ZoneChart | null {
  const z = zb.zones.find((x) => x.id === zoneID);
  if (!z) return null;
  const x = zb.t.map((t) => networkMs(clock, Date.parse(t)));
  return {
    x,
    inflow: z.inflow_m3h,
    consumption: z.consumption_m3h,
    loss: z.loss_m3h,
    mnf: (z.mnf ?? []).map((m) => ({ x: networkMs(clock, Date.parse(m.t)), y: m.inflow_m3h })),
  };
}

/** openLeaks are the leak alarms not yet cleared, newest first. */
export function openLeaks(leaks: LeakEntry[]): LeakEntry[] {
  return leaks.filter((l) => l.alarm.state !== 'cleared');
}

/** calibrationProgress is the share of the calibration the detector has seen. */
export function calibrationProgress(d: DetectorStatus | undefined): number {
  if (!d || d.calibration_steps <= 0) return 0;
  if (d.calibrated) return 1;
  return Math.min(1, d.steps / d.calibration_steps);
}

/** chartLoad is the largest chart statistic as a share of its limit. */
export function chartLoad(d: DetectorStatus | undefined): number | null {
  if (!d?.statistics?.length || !d.thresholds?.length) return null;
  let m = 0;
  d.statistics.forEach((s, i) => {
    const th = d.thresholds?.[i];
    if (th && th > 0) m = Math.max(m, s / th);
  });
  return m;
}
