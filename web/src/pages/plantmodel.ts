// Pure logic of the controlled-plant page: the API's shapes, gauge scales and
// zones, the sequence timeline's layout and the reading of interlock codes.
// No DOM here, so Vitest covers it.

/** A number the server could not compute arrives as null. */
export type N = number | null;

export interface ActuatorStatus {
  name: string;
  device: string;
  unit: string;
  min: number;
  max: number;
  max_rise_per_s?: number;
  max_fall_per_s?: number;
  fail_safe: number;
  lockout: number;
  stale_after_s?: number;
  values?: number[];
  mode: 'auto' | 'manual' | 'locked';
  manual?: number;
  value: number;
  has_value: boolean;
  requested: number;
  interlocks?: string[];
  last_sent: number;
  sent_at?: string;
  last_command?: string;
  last_status?: string;
}

export interface TowerLive {
  level_pct: N;
  basin_cond_us_cm: N;
  makeup_cond_us_cm: N;
  makeup_cond_lagged_us_cm: N;
  cycles: N;
  cycles_setpoint: N;
  product_mg_l: N;
  product_setpoint_mg_l: N;
  tracer_ug_l: N;
  polymer_consumption_pct: N;
  range_c: N;
  evaporation_m3h: N;
  blowdown_m3h: N;
  makeup_m3h: N;
  purge_m3h: N;
  temp_c: N;
  return_temp_c: N;
  ph: N;
  ph_setpoint: N;
  orp_mv: N;
  makeup_open: boolean;
  blowdown_valve_pct: N;
  inhibitor_l_h: N;
  acid_l_h: N;
  biocide_l_h: N;
  fail_safe?: string[];
}

export interface Indices {
  lsi: N;
  rsi: N;
  psi: N;
  larson_skold: N;
  si_calcite: N;
  si_aragonite: N;
  si_gypsum: N;
  si_anhydrite: N;
  si_sio2a: N;
  ionic_strength: N;
  tds_mg_l: N;
  max_cycles: N;
  binding?: string[];
  error?: string;
}

export interface ReuseLive {
  mmf_mode: string;
  mmf_headloss_bar: N;
  mmf_turbidity_ntu: N;
  uf_mode: string;
  uf_tmp_bar: N;
  uf_flow_m3h: N;
  uf_l20: N;
  uf_baseline_l20: N;
  ro_mode: string;
  ro_norm_flow_m3h: N;
  ro_norm_salt_passage_pct: N;
  ro_norm_dp_bar: N;
  ro_flow_change_pct: N;
  ro_sp_change_pct: N;
  ro_dp_change_pct: N;
  ro_recovery: N;
  ro_clean_reasons?: string[];
  routing?: RoutingLive;
}

/** A treated-water stream as the routing judged it. */
export interface StreamLive {
  name: string;
  label?: string;
  label_en?: string;
  flow_m3h: N;
  quality: Record<string, N>;
  lab?: string[];
  classes: string[] | null;
  surplus_m3h: N;
}

export type RouteStatus = 'served' | 'partial' | 'no_flow' | 'quality';

/** A production use of the treated water: what it gets and why. */
export interface UseLive {
  name: string;
  label?: string;
  label_en?: string;
  class: string;
  priority: number;
  demand_m3h: N;
  served_m3h: N;
  unmet_m3h: N;
  from?: string[];
  refused?: string[];
  status: RouteStatus;
  valve?: string;
  since_s: N;
}

export interface RoutingLive {
  streams: StreamLive[];
  uses: UseLive[];
}

export interface PlantAlarm {
  code: string;
  severity: string;
  message: string;
}

export interface Live {
  plant: string;
  enterprise: string;
  time: string;
  process_time: string;
  time_scale: number;
  step: number;
  dt_s: number;
  sensors: Record<string, { meter: string; channel: string; value: N; age_s: N }>;
  tower?: TowerLive;
  indices?: Indices;
  reuse?: ReuseLive;
  actuators: ActuatorStatus[];
  alarms: PlantAlarm[] | null;
}

export interface Bound {
  min: number;
  max: number;
  unit?: string;
  max_step?: number;
}

export interface PlantConfig {
  id: string;
  enterprise: string;
  name: string;
  name_en?: string;
  time_scale: number;
  step_s: number;
  tower?: { actuators: Record<string, string> };
  reuse?: { actuators: Record<string, string>; ro: { thresholds: { FlowDropPct: number; SPRisePct: number; DPRisePct: number } }; routing?: unknown };
  setpoints?: Record<string, Bound>;
}

export interface PlantDetail {
  config: PlantConfig;
  live: Live | null;
  can_operate: boolean;
}

export interface PlantSummary {
  id: string;
  enterprise: string;
  name: string;
  name_en?: string;
  time_scale: number;
  tower: boolean;
  reuse: boolean;
  live: boolean;
  cycles: N;
  product_mg_l: N;
  lsi: N;
  alarms: number;
  locked?: string[];
}

export interface HistoryPoint {
  t: string;
  pt: string;
  cycles: N;
  cycles_sp: N;
  product: N;
  product_sp: N;
  level: N;
  lsi: N;
  si_calcite: N;
}

export interface CommandRecord {
  id: string;
  kind: 'issue' | 'setpoint' | 'mode';
  plant: string;
  device?: string;
  actuator: string;
  value: number;
  unit?: string;
  requested?: number;
  min: number;
  max: number;
  interlocks?: string[];
  mode?: string;
  source: string;
  by: string;
  reason?: string;
  inputs?: { name: string; value: number; age_s?: number; missing?: boolean }[];
  indices?: { name: string; value: number }[];
  issued: string;
  index: number;
  status: string;
  attempts?: number;
  answered?: string;
  detail?: string;
  outcome_index?: number;
}

export interface ROPoint {
  t: string;
  flow_change_pct: N;
  sp_change_pct: N;
  dp_change_pct: N;
  norm_flow_m3h: N;
}

export interface ROTrend {
  points: ROPoint[];
  cleanings: { t: string; command: string; status: string; reason?: string; index: number }[];
  thresholds?: { FlowDropPct: number; SPRisePct: number; DPRisePct: number };
}

export interface Segment {
  mode: string;
  code: number;
  from: string;
  to: string;
  command?: string;
}

export interface Sequences {
  from: string;
  to: string;
  uf: Segment[];
  mmf: Segment[];
  ro: Segment[];
}

/** Tone of a value on a gauge. */
export type Tone = 'good' | 'warn' | 'bad' | 'none';

/** A gauge's scale: its range and coloured bands (lower bound of each band). */
export interface GaugeScale {
  min: number;
  max: number;
  bands: { from: number; to: number; tone: Tone }[];
}

/**
 * gaugeScale gives the scale of an index. The bands follow the usual reading
 * of each index for a treated cooling water: a programme with a scale
 * inhibitor tolerates calcite supersaturation up to about LSI 2.5 (the
 * index_limits table of package cooling); RSI below 4 means heavy scale,
 * above 7.5 corrosion; gypsum must stay undersaturated.
 */
export function gaugeScale(kind: string, setpoint?: N, limit?: N): GaugeScale {
  switch (kind) {
    case 'lsi':
      return { min: -1, max: 3.5, bands: [{ from: -1, to: -0.5, tone: 'warn' }, { from: -0.5, to: 2.5, tone: 'good' }, { from: 2.5, to: 3.5, tone: 'bad' }] };
    case 'rsi':
      return { min: 3, max: 9, bands: [{ from: 3, to: 4, tone: 'bad' }, { from: 4, to: 7.5, tone: 'good' }, { from: 7.5, to: 9, tone: 'warn' }] };
    case 'si_calcite':
      return { min: -1, max: 3, bands: [{ from: -1, to: 2.5, tone: 'good' }, { from: 2.5, to: 3, tone: 'bad' }] };
    case 'si_gypsum':
      return { min: -3, max: 1, bands: [{ from: -3, to: 0, tone: 'good' }, { from: 0, to: 1, tone: 'bad' }] };
    case 'cycles': {
      const sp = setpoint ?? 5;
      const lim = limit ?? sp * 1.4;
      const max = Math.max(lim, sp) * 1.25;
      const bands: GaugeScale['bands'] = [
        { from: 1, to: sp - 0.2, tone: 'warn' },
        { from: sp - 0.2, to: sp + 0.2, tone: 'good' },
        { from: sp + 0.2, to: lim, tone: 'warn' },
        { from: lim, to: max, tone: 'bad' },
      ];
      return { min: 1, max, bands: bands.filter((b) => b.to > b.from) };
    }
    case 'product': {
      const sp = setpoint ?? 5;
      return { min: 0, max: 2 * sp, bands: [{ from: 0, to: 0.9 * sp, tone: 'warn' }, { from: 0.9 * sp, to: 1.1 * sp, tone: 'good' }, { from: 1.1 * sp, to: 2 * sp, tone: 'warn' }] };
    }
  }
  return { min: 0, max: 1, bands: [] };
}

/** toneOf places a value in its scale's bands. */
export function toneOf(s: GaugeScale, v: N): Tone {
  if (v === null || !Number.isFinite(v)) return 'none';
  for (const b of s.bands) if (v >= b.from && v < b.to) return b.tone;
  if (s.bands.length === 0) return 'none';
  return v < s.bands[0].from ? s.bands[0].tone : s.bands[s.bands.length - 1].tone;
}

/** gaugeAngle maps a value to the needle angle of a half-circle gauge: 180° at min, 0° at max (clamped). */
export function gaugeAngle(s: GaugeScale, v: N): number {
  if (v === null || !Number.isFinite(v) || s.max <= s.min) return 180;
  const f = Math.min(1, Math.max(0, (v - s.min) / (s.max - s.min)));
  return 180 * (1 - f);
}

/** arc returns the SVG path of a ring sector of a half-circle gauge between two values. */
export function arcPath(s: GaugeScale, from: number, to: number, cx: number, cy: number, r: number): string {
  const a0 = (gaugeAngle(s, from) * Math.PI) / 180;
  const a1 = (gaugeAngle(s, to) * Math.PI) / 180;
  const p = (a: number) => `${(cx + r * Math.cos(a)).toFixed(2)} ${(cy - r * Math.sin(a)).toFixed(2)}`;
  return `M ${p(a0)} A ${r} ${r} 0 0 1 ${p(a1)}`;
}

/** A laid-out timeline bar: offsets in percent of the window. */
export interface Bar {
  mode: string;
  left: number;
  width: number;
  from: string;
  to: string;
}

/** layoutTimeline places segments on a [from, to) window as percentages, dropping what falls outside. */
export function layoutTimeline(segs: Segment[], from: string, to: string): Bar[] {
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const span = t1 - t0;
  if (!(span > 0)) return [];
  const out: Bar[] = [];
  for (const s of segs) {
    const a = Math.max(t0, Date.parse(s.from));
    const b = Math.min(t1, Date.parse(s.to));
    if (!(b > a)) continue;
    out.push({ mode: s.mode, left: (100 * (a - t0)) / span, width: (100 * (b - a)) / span, from: s.from, to: s.to });
  }
  return out;
}

/** share sums the time of each mode as a share of the window. */
export function modeShares(bars: Bar[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of bars) out[b.mode] = (out[b.mode] ?? 0) + b.width / 100;
  return out;
}

/** interlockParts splits an interlock code ("stale:fluor_ppb") into its kind and subject. */
export function interlockParts(code: string): { kind: string; subject?: string } {
  const i = code.indexOf(':');
  return i < 0 ? { kind: code } : { kind: code.slice(0, i), subject: code.slice(i + 1) };
}

/** limitHeadroom is how much of an actuator's range its value uses (0…1), for the dose bars. */
export function limitHeadroom(a: Pick<ActuatorStatus, 'min' | 'max' | 'value'>): number {
  if (!(a.max > a.min)) return 0;
  return Math.min(1, Math.max(0, (a.value - a.min) / (a.max - a.min)));
}

/** fmtDuration shows a process-time step compactly: 36 s, 4 min, 1.5 h. */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/**
 * processClock maps a wall-clock time to the plant's process time, from one
 * live snapshot: a simulated plant's process runs time_scale times faster
 * than the wall clock (for a real plant the two are the same).
 */
export function processClock(live: Pick<Live, 'time' | 'process_time' | 'time_scale'> | null): (iso: string) => number {
  if (!live || !(live.time_scale > 0)) return (iso) => Date.parse(iso);
  const w0 = Date.parse(live.time);
  const p0 = Date.parse(live.process_time);
  return (iso) => p0 + (Date.parse(iso) - w0) * live.time_scale;
}

/** wallWindow is the wall-clock span (ms) that shows processSeconds of a plant's process. */
export function wallWindow(processSeconds: number, timeScale: number): number {
  return (1000 * processSeconds) / (timeScale > 0 ? timeScale : 1);
}

// ---- reuse routing ----

/** A reason the server gave for refusing a stream to a use, read into its parts. */
export interface Refusal {
  stream: string;
  parameter: string;
  kind: 'range' | 'missing' | 'other';
  value?: number;
  text: string; // the server's words, when they cannot be read
}

/**
 * parseRefusal reads reuse.Route's reasons: "stream: parameter 80 out of
 * range" or "stream: parameter not measured".
 */
export function parseRefusal(s: string): Refusal {
  const m = /^([a-z0-9_]+): ([a-z0-9_]+) (?:(not measured)|(\S+) out of range)$/.exec(s);
  if (!m) return { stream: '', parameter: '', kind: 'other', text: s };
  if (m[3]) return { stream: m[1], parameter: m[2], kind: 'missing', text: s };
  const v = Number(m[4]);
  return { stream: m[1], parameter: m[2], kind: 'range', value: Number.isFinite(v) ? v : undefined, text: s };
}

/** routeTone colours a use's routing status. */
export function routeTone(status: RouteStatus): Tone {
  switch (status) {
    case 'served':
      return 'good';
    case 'partial':
    case 'no_flow':
      return 'warn';
    case 'quality':
      return 'bad';
  }
  return 'none';
}

/** routeTotals sums the demand and the reuse water served over the uses. */
export function routeTotals(r: RoutingLive | undefined): { demand: number; served: number; cut: number } {
  let demand = 0;
  let served = 0;
  let cut = 0;
  for (const u of r?.uses ?? []) {
    demand += u.demand_m3h ?? 0;
    served += u.served_m3h ?? 0;
    if (u.status === 'quality') cut++;
  }
  return { demand, served, cut };
}

// ---- accepting the cycles optimiser's limit ----

/** What accepting the optimiser's limit would do, for the confirm dialog. */
export interface CyclesAcceptance {
  limit: number | null; // the optimiser's figure (null: none yet)
  current: number | null;
  value: number | null; // the set-point after the bounds and the step limit (null: refused)
  stepLimited: boolean;
  blocked?: 'no_limit' | 'same' | 'out_of_bounds' | 'locked';
}

/**
 * cyclesAcceptance previews the server's set-point interlocks on the
 * optimiser's limit: refused outside the bounds or while the blowdown valve
 * is locked out, moved at most max_step. The server decides; this only
 * tells the operator what to expect before confirming.
 */
export function cyclesAcceptance(limit: N | undefined, current: N | undefined, bound: Bound | undefined, blowdownMode?: string): CyclesAcceptance {
  const lim = limit ?? null;
  const cur = current ?? null;
  const out: CyclesAcceptance = { limit: lim, current: cur, value: null, stepLimited: false };
  if (lim === null || !Number.isFinite(lim)) return { ...out, blocked: 'no_limit' };
  if (blowdownMode === 'locked') return { ...out, blocked: 'locked' };
  if (bound && (lim < bound.min || lim > bound.max)) return { ...out, blocked: 'out_of_bounds' };
  let v = lim;
  const step = bound?.max_step ?? 0;
  if (step > 0 && cur !== null && Math.abs(v - cur) > step) {
    v = cur + Math.sign(v - cur) * step;
    out.stepLimited = true;
  }
  if (cur !== null && Math.abs(v - cur) < 0.005) return { ...out, value: v, blocked: 'same' };
  return { ...out, value: v };
}
