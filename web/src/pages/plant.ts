// One controlled plant (a cooling tower and a reuse train under closed-loop
// control): a process diagram with live values, index gauges, the control
// trends, the RO normalised trends with cleaning markers, the UF / filter /
// RO sequence timeline, the actuators with their interlocks and the
// operator's overrides, the set-points and the command log. It refreshes
// every 5 s.

import { getJSON, postJSON, qs } from '../app/api';
import { enterprises, settle } from '../app/cache';
import { COLORS, makeChart, SHANGHAI_OFFSET_MS, type Chart } from '../app/charts';
import { h, replace, type Child } from '../app/dom';
import { fmtNum, fmtTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import type { PageContext } from '../app/router';
import { breadcrumbs, card, pageTitle, table, toast } from '../app/ui';
import {
  arcPath,
  cyclesAcceptance,
  fmtDuration,
  gaugeAngle,
  gaugeScale,
  interlockParts,
  layoutTimeline,
  limitHeadroom,
  parseRefusal,
  processClock,
  routeTone,
  routeTotals,
  toneOf,
  wallWindow,
  type ActuatorStatus,
  type CommandRecord,
  type HistoryPoint,
  type Live,
  type N,
  type PlantDetail,
  type PlantSummary,
  type ROTrend,
  type RoutingLive,
  type Sequences,
  type UseLive,
} from './plantmodel';
import './plant.css';

const SVG = 'http://www.w3.org/2000/svg';

/** s creates an SVG element; text goes in as a text node. */
function s(tag: string, attrs: Record<string, string | number | undefined>, ...children: (SVGElement | string | null)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

const num = (v: N | undefined, d = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : fmtNum(v, d));

function actuatorName(name: string): string {
  return tOr(`actuator.${name}`, name);
}

function interlockText(code: string): string {
  const p = interlockParts(code);
  if (p.subject) return tOr(`interlock.${p.kind}`, code, { s: p.subject });
  return tOr(`interlock.${p.kind}`, code);
}

function modeBadge(mode: string): HTMLElement {
  return h('span', { class: `amode amode-${mode}`, 'data-mode': mode }, tOr(`amode.${mode}`, mode));
}

function statusText(st?: string): HTMLElement {
  return h('span', { class: `cmdstatus cmdstatus-${st ?? 'none'}` }, st ? tOr(`cmdstatus.${st}`, st) : '—');
}

// ---- process diagram ----

function diagram(live: Live | null, cfg: PlantDetail['config']): SVGElement {
  const tw = live?.tower;
  const rl = live?.reuse;
  const acts = new Map((live?.actuators ?? []).map((a) => [a.name, a]));
  const actColor = (name?: string) => {
    const a = name ? acts.get(name) : undefined;
    if (!a) return '#b0bec5';
    if (a.mode === 'locked') return '#c62828';
    if (a.mode === 'manual') return '#ef6c00';
    if (a.interlocks?.some((i) => i.startsWith('failsafe') || i.startsWith('stale') || i.startsWith('invalid'))) return '#ad1457';
    return a.value > 0 ? '#2e7d32' : '#78909c';
  };
  const ta = cfg.tower?.actuators ?? {};
  const ra = cfg.reuse?.actuators ?? {};
  const label = (x: number, y: number, text: string, cls = 'lbl', anchor = 'start') => s('text', { x, y, class: cls, 'text-anchor': anchor }, text);
  const pipe = (d: string, cls = 'pipe') => s('path', { d, class: cls });
  const valve = (x: number, y: number, name: string | undefined, title: string) =>
    s('g', { 'data-actuator': name ?? '' }, s('circle', { cx: x, cy: y, r: 9, fill: actColor(name), class: 'valve' }, s('title', {}, title)));
  const level = Math.max(0, Math.min(100, tw?.level_pct ?? 0));
  const g = s('svg', { viewBox: '0 0 1160 380', class: 'plant-diagram', role: 'img', 'data-testid': 'diagram', 'aria-label': t('plant.diagram') });
  // Cooling tower and basin.
  g.append(
    s('polygon', { points: '200,40 330,40 350,200 180,200', class: 'tower' }),
    label(265, 62, t('plant.diagram.tower'), 'title', 'middle'),
    s('rect', { x: 160, y: 200, width: 210, height: 90, class: 'basin' }),
    s('rect', { x: 162, y: 288 - (86 * level) / 100, width: 206, height: (86 * level) / 100, class: 'water', 'data-level': level.toFixed(1) }),
    label(265, 312, `${t('plant.diagram.basin')} ${num(tw?.level_pct)} %`, 'lbl', 'middle'),
    label(265, 100, `N = ${num(tw?.cycles, 2)}`, 'big', 'middle'),
    label(265, 122, `${num(tw?.basin_cond_us_cm, 0)} µS/cm`, 'lbl', 'middle'),
    label(265, 140, `pH ${num(tw?.ph, 2)} · ORP ${num(tw?.orp_mv, 0)} mV`, 'lbl', 'middle'),
    label(265, 158, `${num(tw?.product_mg_l, 2)} mg/L`, 'lbl', 'middle'),
    // evaporation
    pipe('M 265 38 L 265 8', 'vapour'),
    label(280, 16, `${t('plant.diagram.evap')} ${num(tw?.evaporation_m3h)} m³/h`),
  );
  // Make-up line from the left into the basin.
  g.append(
    pipe('M 10 250 L 160 250'),
    label(10, 240, `${t('plant.diagram.makeup')} ${num(tw?.makeup_m3h)} m³/h · ${num(tw?.makeup_cond_us_cm, 0)} µS/cm`),
    valve(90, 250, ta.makeup_valve, actuatorName('makeup_valve')),
    label(90, 275, tw ? (tw.makeup_open ? t('plant.diagram.open') : t('plant.diagram.closed')) : '—', 'lbl', 'middle'),
  );
  // Blowdown from the basin to the drain.
  g.append(
    pipe('M 370 275 L 470 275 L 470 350'),
    valve(420, 275, ta.blowdown_valve, actuatorName('blowdown_valve')),
    label(480, 330, `${t('plant.diagram.blowdown')} ${num(tw?.blowdown_m3h, 2)} m³/h`),
    label(480, 348, `${actuatorName('blowdown_valve')} ${num(tw?.blowdown_valve_pct, 0)} %`),
  );
  // Circulation through the heat exchangers.
  g.append(
    pipe('M 370 220 L 460 220 L 460 120 L 350 120'),
    s('rect', { x: 440, y: 140, width: 40, height: 60, class: 'hx' }),
    label(440, 100, t('plant.diagram.heat')),
    label(440, 82, `${num(tw?.temp_c)} → ${num(tw?.return_temp_c)} °C (Δt ${num(tw?.range_c)} °C)`),
  );
  // Dosing pumps above the basin.
  const pumps: [string | undefined, string, N | undefined][] = [
    [ta.inhibitor_pump, t('plant.diagram.inhibitor'), tw?.inhibitor_l_h],
    [ta.acid_pump, t('plant.diagram.acid'), tw?.acid_l_h],
    [ta.biocide_pump, t('plant.diagram.biocide'), tw?.biocide_l_h],
  ];
  pumps.forEach(([name, lab, v], i) => {
    if (!name) return;
    const x = 30 + i * 0;
    const y = 60 + i * 45;
    g.append(
      pipe(`M ${x + 10} ${y} L 150 ${y} L 185 215`, 'dose'),
      valve(x, y, name, lab),
      label(x + 16, y - 10, `${lab} ${num(v, v !== undefined && v !== null && v < 1 ? 4 : 2)} L/h`),
    );
  });
  // Reuse train: effluent → MMF → UF → RO → reuse water; concentrate to drain.
  if (rl || cfg.reuse) {
    const box = (x: number, name: string | undefined, title: string, lines: string[], mode: string) =>
      s(
        'g',
        { 'data-actuator': name ?? '', 'data-unit-mode': mode },
        s('rect', { x, y: 200, width: 130, height: 90, rx: 6, class: `unit unit-${mode}`, stroke: actColor(name) }),
        label(x + 65, 222, title, 'title', 'middle'),
        label(x + 65, 242, tOr(`seqmode.${mode}`, mode), 'mode', 'middle'),
        ...lines.map((l, i) => label(x + 65, 260 + i * 16, l, 'lbl', 'middle')),
      );
    g.append(
      label(520, 236, t('plant.diagram.feed')),
      pipe('M 520 245 L 600 245'),
      box(600, ra.mmf, t('plant.diagram.mmf'), [`ΔP ${num(rl?.mmf_headloss_bar, 2)} bar`, `${num(rl?.mmf_turbidity_ntu, 2)} NTU`], rl?.mmf_mode ?? '—'),
      pipe('M 730 245 L 770 245'),
      box(770, ra.uf, t('plant.diagram.uf'), [`TMP ${num(rl?.uf_tmp_bar, 3)} bar`, `L20 ${num(rl?.uf_l20, 0)} / ${num(rl?.uf_baseline_l20, 0)}`], rl?.uf_mode ?? '—'),
      pipe('M 900 245 L 940 245'),
      box(940, ra.ro, t('plant.diagram.ro'), [`Qn ${num(rl?.ro_flow_change_pct, 1)} %`, `SPn ${num(rl?.ro_sp_change_pct, 1)} % · ΔPn ${num(rl?.ro_dp_change_pct, 1)} %`], rl?.ro_mode ?? '—'),
      pipe('M 1070 230 L 1120 230 L 1120 150', 'reuse'),
      s('polygon', { points: '1113,150 1127,150 1120,138', class: 'arrow' }),
      label(1150, 128, t('plant.diagram.reuse'), 'title', 'end'),
      label(1150, 112, t('plant.diagram.reuseTo'), 'lbl', 'end'),
      pipe('M 1005 290 L 1005 350', 'drain'),
      label(1012, 348, t('plant.diagram.concentrate')),
    );
  }
  return g;
}

// ---- gauges ----

function gauge(kind: string, title: string, v: N | undefined, opts: { setpoint?: N; limit?: N; digits?: number } = {}): HTMLElement {
  const sc = gaugeScale(kind, opts.setpoint ?? null, opts.limit ?? null);
  const value = v ?? null;
  const tone = toneOf(sc, value);
  const svg = s('svg', { viewBox: '0 0 120 74', class: 'gauge-svg' });
  for (const b of sc.bands) svg.append(s('path', { d: arcPath(sc, b.from, b.to, 60, 62, 48), class: `band band-${b.tone}` }));
  const a = (gaugeAngle(sc, value) * Math.PI) / 180;
  svg.append(
    s('line', { x1: 60, y1: 62, x2: (60 + 40 * Math.cos(a)).toFixed(2), y2: (62 - 40 * Math.sin(a)).toFixed(2), class: 'needle' }),
    s('circle', { cx: 60, cy: 62, r: 4, class: 'hub' }),
    s('text', { x: 12, y: 73, class: 'tick' }, fmtNum(sc.min, 1)),
    s('text', { x: 108, y: 73, class: 'tick', 'text-anchor': 'end' }, fmtNum(sc.max, 1)),
  );
  const notes: Child[] = [];
  if (opts.setpoint !== undefined && opts.setpoint !== null) notes.push(t('plant.gauge.setpoint', { v: fmtNum(opts.setpoint, 2) }));
  if (opts.limit !== undefined && opts.limit !== null) notes.push(' · ', t('plant.gauge.max', { v: fmtNum(opts.limit, 2) }));
  return h(
    'div',
    { class: `gauge tone-${tone}`, 'data-gauge': kind, 'data-value': value === null ? '' : String(value) },
    h('div', { class: 'gauge-title' }, title),
    svg,
    h('div', { class: 'gauge-value' }, num(value, opts.digits ?? 2)),
    h('div', { class: 'gauge-note muted' }, notes),
  );
}

function gauges(live: Live | null): HTMLElement {
  const x = live?.indices;
  const tw = live?.tower;
  const wrap = h(
    'div',
    { class: 'gauges', 'data-testid': 'gauges' },
    gauge('cycles', t('plant.gauge.cycles'), tw?.cycles, { setpoint: tw?.cycles_setpoint, limit: x?.max_cycles }),
    gauge('product', t('plant.gauge.product'), tw?.product_mg_l, { setpoint: tw?.product_setpoint_mg_l }),
    gauge('lsi', t('plant.gauge.lsi'), x?.lsi),
    gauge('rsi', t('plant.gauge.rsi'), x?.rsi),
    gauge('si_calcite', t('plant.gauge.si_calcite'), x?.si_calcite),
    gauge('si_gypsum', t('plant.gauge.si_gypsum'), x?.si_gypsum),
  );
  return h(
    'div',
    null,
    wrap,
    x?.binding?.length ? h('p', { class: 'muted' }, t('plant.binding', { b: x.binding.join('; ') })) : null,
    x?.error ? h('p', { class: 'warning-text' }, x.error) : null,
  );
}

// ---- actuators, set-points, alarms ----

function actuatorTable(live: Live | null, detail: PlantDetail, act: (name: string, mode: string, value: number) => void): HTMLElement {
  const rows = live?.actuators ?? [];
  return table<ActuatorStatus>(
    [
      { head: t('plant.act.name'), cell: (a) => h('span', { title: a.name }, actuatorName(a.name)) },
      { head: t('plant.act.device'), cell: (a) => h('a', { href: `/meters/${encodeURIComponent(a.device)}` }, a.device) },
      { head: t('plant.act.mode'), cell: (a) => modeBadge(a.mode) },
      {
        head: t('plant.act.value'),
        num: true,
        cell: (a) =>
          h(
            'span',
            { class: 'act-value', 'data-value': String(a.value) },
            a.unit === 'mode' ? tOr(`seqmode.${modeName(a.name, a.value)}`, String(a.value)) : `${num(a.value, a.unit === 'L/h' && a.max < 1 ? 4 : 2)} ${a.unit}`,
            a.unit !== 'mode' ? h('span', { class: 'headroom' }, h('span', { style: { width: `${(100 * limitHeadroom(a)).toFixed(0)}%` } })) : null,
          ),
      },
      { head: t('plant.act.limits'), cell: (a) => `${fmtNum(a.min, 3)} – ${fmtNum(a.max, 3)} ${a.unit === 'mode' ? '' : a.unit}` },
      { head: t('plant.act.interlocks'), cell: (a) => (a.interlocks?.length ? a.interlocks.map((i) => h('span', { class: 'badge interlock' }, interlockText(i))) : '—') },
      { head: t('plant.act.last'), cell: (a) => h('span', null, statusText(a.last_status), ' ', h('span', { class: 'muted' }, fmtTime(a.sent_at))) },
      {
        head: t('plant.act.operate'),
        cell: (a) => {
          if (!detail.can_operate) return '—';
          const input = h('input', { type: 'number', step: 'any', min: String(a.min), max: String(a.max), class: 'manual-value', value: String(a.mode === 'manual' ? (a.manual ?? a.value) : a.value), title: t('plant.act.manualPrompt', { min: a.min, max: a.max, unit: a.unit }) });
          return h(
            'span',
            { class: 'act-buttons' },
            h('button', { type: 'button', disabled: a.mode === 'auto', onclick: () => act(a.name, 'auto', 0) }, t('plant.act.auto')),
            input,
            h('button', { type: 'button', onclick: () => act(a.name, 'manual', Number(input.value)) }, t('plant.act.manual')),
            h('button', { type: 'button', class: 'danger', disabled: a.mode === 'locked', onclick: () => act(a.name, 'locked', 0) }, t('plant.act.lock')),
          );
        },
      },
    ],
    rows,
    { rowAttrs: (a) => ({ 'data-actuator-row': a.name }) },
  );
}

/** modeName names a sequence actuator's mode code. */
function modeName(actuator: string, code: number): string {
  if (actuator.startsWith('uf')) return ['filtering', 'backwash', 'ceb', 'cip', 'stopped'][code] ?? String(code);
  if (actuator.startsWith('mmf')) return ['filtering', 'backwash', 'rinse'][code] ?? String(code);
  if (actuator.startsWith('ro')) return code === 1 ? 'cip' : 'service';
  return String(code);
}

/** acceptCyclesView offers the cycles optimiser's limit as the set-point. */
function acceptCyclesView(detail: PlantDetail, live: Live | null, accept: (limit: number, preview: number) => void): HTMLElement | null {
  const tw = live?.tower;
  const x = live?.indices;
  if (!tw || !x) return null;
  const blowdown = live?.actuators.find((a) => a.name === detail.config.tower?.actuators?.blowdown_valve);
  const acc = cyclesAcceptance(x.max_cycles, tw.cycles_setpoint, detail.config.setpoints?.cycles, blowdown?.mode);
  const note = acc.blocked ? tOr(`plant.accept.blocked.${acc.blocked}`, acc.blocked) : acc.stepLimited ? t('plant.accept.step', { v: num(acc.value, 2) }) : '';
  return h(
    'div',
    { class: 'accept-cycles', 'data-testid': 'accept-cycles', 'data-limit': acc.limit === null ? '' : String(acc.limit) },
    h('span', null, t('plant.accept.limit', { v: num(acc.limit, 2) })),
    x.binding?.length ? h('span', { class: 'muted' }, ' ', t('plant.binding', { b: x.binding.join('; ') })) : null,
    detail.can_operate
      ? h(
          'button',
          { type: 'button', 'data-testid': 'accept-cycles-button', disabled: acc.blocked !== undefined, onclick: () => acc.limit !== null && acc.value !== null && accept(acc.limit, acc.value) },
          t('plant.accept.button'),
        )
      : null,
    note ? h('span', { class: 'muted', 'data-testid': 'accept-note' }, ' ', note) : null,
  );
}

/** confirmDialog asks before an operator's change; it resolves true on confirmation. */
function confirmDialog(title: string, body: Child[], confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const dlg = h('dialog', { class: 'confirm-dialog', 'data-testid': 'confirm-dialog' });
    const close = (yes: boolean) => {
      answer = yes;
      dlg.close();
    };
    dlg.append(
      h('h3', null, title),
      h('div', { class: 'dialog-body' }, body),
      h(
        'div',
        { class: 'dialog-buttons' },
        h('button', { type: 'button', 'data-testid': 'confirm-cancel', onclick: () => close(false) }, t('plant.dialog.cancel')),
        h('button', { type: 'button', class: 'primary', 'data-testid': 'confirm-ok', onclick: () => close(true) }, confirmLabel),
      ),
    );
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(answer);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

function setpointsView(detail: PlantDetail, live: Live | null, change: (name: string, v: number) => void): HTMLElement {
  const tw = live?.tower;
  const current: Record<string, N | undefined> = { cycles: tw?.cycles_setpoint, product_mg_l: tw?.product_setpoint_mg_l, ph: tw?.ph_setpoint };
  const names = Object.keys(detail.config.setpoints ?? {}).filter((n) => current[n] !== undefined && current[n] !== null);
  return h(
    'div',
    { class: 'setpoints', 'data-testid': 'setpoints' },
    names.map((n) => {
      const b = detail.config.setpoints![n];
      const bounds = b.max_step ? t('plant.sp.boundsStep', { min: b.min, max: b.max, step: b.max_step }) : t('plant.sp.bounds', { min: b.min, max: b.max });
      const input = h('input', { type: 'number', step: 'any', min: String(b.min), max: String(b.max), value: String(current[n] ?? '') });
      return h(
        'div',
        { class: 'setpoint', 'data-setpoint': n },
        h('span', { class: 'sp-name' }, tOr(`plant.sp.${n}`, n)),
        h('span', { class: 'sp-now' }, t('plant.sp.current', { v: num(current[n], 2) })),
        h('span', { class: 'muted' }, bounds),
        detail.can_operate ? [input, h('button', { type: 'button', onclick: () => change(n, Number(input.value)) }, t('plant.sp.change'))] : null,
      );
    }),
    detail.can_operate ? null : h('p', { class: 'muted' }, t('plant.sp.readonly')),
  );
}

// ---- reuse routing ----

const paramName = (k: string) => tOr(`quality.${k}`, k);
const className = (c: string) => tOr(`reuseclass.${c}`, c);

/** useWhy says why a use receives reuse water or does not. */
function useWhy(u: UseLive, r: RoutingLive): Child[] {
  const label = (name: string) => {
    const st = r.streams.find((x) => x.name === name);
    return st ? pick(st.label, st.label_en) || name : name;
  };
  const since = u.since_s !== null ? h('div', { class: 'muted small' }, t('plant.route.since', { d: fmtDuration(u.since_s) })) : null;
  if (u.status === 'quality') {
    return [
      h('div', { class: 'route-refused' }, t('plant.route.notMet', { c: className(u.class) })),
      h(
        'ul',
        { class: 'route-reasons' },
        (u.refused ?? []).map((x) => {
          const f = parseRefusal(x);
          const s = label(f.stream);
          if (f.kind === 'range') return h('li', null, t('plant.route.out', { s, p: paramName(f.parameter), v: f.value !== undefined ? fmtNum(f.value, 3) : '?' }));
          if (f.kind === 'missing') return h('li', null, t('plant.route.missing', { s, p: paramName(f.parameter) }));
          return h('li', null, f.text);
        }),
      ),
      since,
    ];
  }
  if (u.status === 'no_flow') {
    const making = r.streams.some((s) => (s.flow_m3h ?? 0) > 0);
    return [h('div', null, making ? t('plant.route.noneLeft', { c: className(u.class), p: u.priority }) : t('plant.route.notMaking')), since];
  }
  return [h('div', null, t('plant.route.met', { c: className(u.class), s: (u.from ?? []).map(label).join('、') })), since];
}

function routingView(live: Live | null): HTMLElement {
  const r = live?.reuse?.routing;
  if (!r) return h('p', { class: 'empty' }, t('plant.route.none'));
  const acts = new Map((live?.actuators ?? []).map((a) => [a.name, a]));
  const tot = routeTotals(r);
  const streams = r.streams.map((st) =>
    h(
      'div',
      { class: 'route-stream', 'data-stream': st.name },
      h('strong', null, pick(st.label, st.label_en) || st.name),
      ' ',
      t('plant.route.flow', { v: num(st.flow_m3h) }),
      h(
        'div',
        { class: 'route-quality' },
        Object.keys(st.quality)
          .sort((a, b) => Number(st.lab?.includes(a) ?? false) - Number(st.lab?.includes(b) ?? false) || a.localeCompare(b))
          .map((k) => {
            const lab = st.lab?.includes(k);
            return h('span', { class: `qparam${lab ? ' lab' : ''}${st.quality[k] === null ? ' missing' : ''}`, 'data-param': k, title: lab ? t('plant.route.lab') : t('plant.route.online') }, `${paramName(k)} ${num(st.quality[k], 2)}${lab ? ' *' : ''}`);
          }),
      ),
      h('div', { class: 'muted' }, t('plant.route.classes', { c: st.classes?.length ? st.classes.map(className).join('、') : '—' }), ' · ', t('plant.route.labNote')),
    ),
  );
  const rows = table<UseLive>(
    [
      { head: t('plant.route.use'), cell: (u) => h('span', { title: u.name }, pick(u.label, u.label_en) || u.name) },
      { head: t('plant.route.class'), cell: (u) => className(u.class) },
      { head: t('plant.route.demand'), num: true, cell: (u) => num(u.demand_m3h) },
      { head: t('plant.route.served'), num: true, cell: (u) => num(u.served_m3h) },
      { head: t('plant.route.status'), cell: (u) => h('span', { class: `badge route-${routeTone(u.status)}`, 'data-route-status': u.status }, tOr(`route.${u.status}`, u.status)) },
      { head: t('plant.route.why'), cell: (u) => h('div', { class: 'route-why' }, useWhy(u, r)) },
      {
        head: t('plant.route.valve'),
        cell: (u) => {
          const a = u.valve ? acts.get(u.valve) : undefined;
          if (!a) return '—';
          return h('span', { 'data-valve': a.name, 'data-value': String(a.value) }, a.value > 0 ? t('plant.diagram.open') : t('plant.diagram.closed'), ' ', modeBadge(a.mode));
        },
      },
    ],
    r.uses,
    { rowAttrs: (u) => ({ 'data-use': u.name, 'data-status': u.status }) },
  );
  return h(
    'div',
    { 'data-testid': 'routing' },
    streams,
    h('p', { class: tot.cut ? 'warning-text' : 'muted', 'data-testid': 'routing-totals' }, t('plant.route.totals', { s: fmtNum(tot.served, 1), d: fmtNum(tot.demand, 1), n: tot.cut })),
    rows,
  );
}

function alarmsView(live: Live | null): HTMLElement {
  const list = live?.alarms ?? [];
  const fs = live?.tower?.fail_safe ?? [];
  return h(
    'div',
    { 'data-testid': 'plant-alarms' },
    fs.length ? h('p', { class: 'warning-text' }, t('plant.failsafe', { c: fs.join(', ') })) : null,
    list.length === 0
      ? h('p', { class: 'empty' }, t('plant.alarms.none'))
      : h(
          'ul',
          { class: 'plant-alarms' },
          list.map((a) => h('li', { class: `sev-${a.severity}` }, h('span', { class: `badge sev-${a.severity}` }, tOr(`severity.${a.severity}`, a.severity)), ' ', a.message)),
        ),
  );
}

function commandTable(cmds: CommandRecord[]): HTMLElement {
  const target = (c: CommandRecord) => {
    if (c.kind === 'setpoint') return t('plant.cmd.setpoint', { name: tOr(`plant.sp.${c.actuator}`, c.actuator) });
    if (c.kind === 'mode') return h('span', null, actuatorName(c.actuator), ' ', t('plant.cmd.mode', { mode: tOr(`amode.${c.mode}`, c.mode ?? '') }));
    return actuatorName(c.actuator);
  };
  return table<CommandRecord>(
    [
      { head: t('plant.cmd.time'), cell: (c) => fmtTime(c.issued) },
      { head: t('plant.cmd.actuator'), cell: target },
      {
        head: t('plant.cmd.value'),
        num: true,
        cell: (c) =>
          c.kind === 'mode' && c.mode === 'auto'
            ? '—'
            : h('span', null, c.unit === 'mode' ? tOr(`seqmode.${modeName(c.actuator, c.value)}`, String(c.value)) : `${num(c.value, 4)} ${c.unit ?? ''}`, c.requested !== undefined ? h('div', { class: 'muted' }, t('plant.cmd.requested', { v: num(c.requested, 4) })) : null),
      },
      {
        head: t('plant.cmd.cause'),
        cell: (c) =>
          h(
            'div',
            { class: 'cause' },
            h('span', { class: 'badge' }, tOr(`cmdsource.${c.source}`, c.source)),
            ' ',
            h('code', null, c.by),
            c.reason ? h('div', null, c.reason) : null,
            c.inputs?.length ? h('div', { class: 'muted' }, c.inputs.map((i) => `${i.name} ${i.missing ? '—' : num(i.value, 3)}`).join(' · ')) : null,
            c.indices?.length ? h('div', { class: 'muted' }, c.indices.map((i) => `${i.name} ${num(i.value, 3)}`).join(' · ')) : null,
          ),
      },
      { head: t('plant.cmd.interlocks'), cell: (c) => (c.interlocks?.length ? c.interlocks.map((i) => h('span', { class: 'badge interlock' }, interlockText(i))) : '—') },
      { head: t('plant.cmd.status'), cell: (c) => h('span', { title: c.detail ?? '' }, statusText(c.status)) },
      {
        head: t('plant.cmd.ledger'),
        num: true,
        cell: (c) =>
          h(
            'span',
            null,
            h('a', { href: `/api/v1/proof${qs({ index: c.index, download: 1 })}`, class: 'ledger-index', 'data-index': String(c.index), download: `receipt-${c.index}.tlog-proof` }, `#${c.index}`),
            c.outcome_index ? [' / ', h('a', { href: `/api/v1/proof${qs({ index: c.outcome_index, download: 1 })}`, download: `receipt-${c.outcome_index}.tlog-proof` }, `#${c.outcome_index}`)] : null,
          ),
      },
    ],
    cmds,
    { rowAttrs: (c) => ({ 'data-command': c.id, 'data-kind': c.kind }) },
  );
}

// ---- charts and timeline ----

/** A chart's x value: a process time shifted so that a UTC axis shows Beijing wall time. */
type Clock = (iso: string) => number;

function timeAxis(simulated: boolean) {
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    type: 'time',
    name: simulated ? t('plant.axis.process') : '',
    nameLocation: 'end',
    axisLabel: {
      hideOverlap: true,
      formatter: (v: number) => {
        const d = new Date(v);
        return `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
      },
    },
  };
}

function trendOption(hist: HistoryPoint[], simulated: boolean) {
  const line = (name: string, key: keyof HistoryPoint, color: string, axis = 0, dashed = false) => ({
    name,
    type: 'line',
    showSymbol: false,
    yAxisIndex: axis,
    lineStyle: { color, type: dashed ? 'dashed' : 'solid', width: dashed ? 1 : 2 },
    itemStyle: { color },
    data: hist.map((p) => [Date.parse(p.pt) + SHANGHAI_OFFSET_MS, p[key]]),
  });
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 60, top: 36, bottom: 30 },
    xAxis: timeAxis(simulated),
    yAxis: [{ type: 'value', name: t('plant.trend.cycles'), scale: true }, { type: 'value', name: 'mg/L', scale: true }],
    series: [
      line(t('plant.trend.cycles'), 'cycles', COLORS.intake),
      line(t('plant.trend.cyclesSP'), 'cycles_sp', COLORS.intake, 0, true),
      line(t('plant.trend.product'), 'product', COLORS.reuse, 1),
      line(t('plant.trend.productSP'), 'product_sp', COLORS.reuse, 1, true),
    ],
  };
}

function roOption(ro: ROTrend, clock: Clock, simulated: boolean) {
  const x = (iso: string) => clock(iso) + SHANGHAI_OFFSET_MS;
  const line = (name: string, key: 'flow_change_pct' | 'sp_change_pct' | 'dp_change_pct', color: string) => ({
    name,
    type: 'line',
    showSymbol: false,
    lineStyle: { color, width: 2 },
    itemStyle: { color },
    data: ro.points.map((p) => [x(p.t), p[key]]),
  });
  const th = ro.thresholds;
  const flow = line(t('plant.ro.flow'), 'flow_change_pct', COLORS.intake) as Record<string, unknown>;
  flow.markLine = {
    symbol: 'none',
    silent: true,
    label: { formatter: t('plant.ro.clean'), position: 'insideEndTop' },
    lineStyle: { color: COLORS.unaccounted, type: 'solid', width: 2 },
    data: ro.cleanings.map((c) => ({ xAxis: x(c.t) })),
  };
  const thr = th
    ? [
        { yAxis: -th.FlowDropPct, lineStyle: { color: COLORS.intake, type: 'dotted' } },
        { yAxis: th.SPRisePct, lineStyle: { color: COLORS.rate, type: 'dotted' } },
        { yAxis: th.DPRisePct, lineStyle: { color: COLORS.discharge, type: 'dotted' } },
      ]
    : [];
  const sp = line(t('plant.ro.sp'), 'sp_change_pct', COLORS.rate) as Record<string, unknown>;
  sp.markLine = { symbol: 'none', silent: true, label: { show: false }, data: thr };
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 60, top: 36, bottom: 30 },
    xAxis: timeAxis(simulated),
    yAxis: { type: 'value', name: '%' },
    series: [flow, sp, line(t('plant.ro.dp'), 'dp_change_pct', COLORS.discharge)],
  };
}

function timeline(seq: Sequences, clock: Clock): HTMLElement {
  const at = (iso: string) => fmtTime(new Date(clock(iso)).toISOString(), false);
  const row = (key: 'uf' | 'mmf' | 'ro', title: string) => {
    const bars = layoutTimeline(seq[key], seq.from, seq.to);
    return h(
      'div',
      { class: 'tl-row', 'data-timeline': key },
      h('span', { class: 'tl-label' }, title),
      h(
        'div',
        { class: 'tl-track' },
        bars.map((b) =>
          h('span', {
            class: `tl-bar mode-${b.mode}`,
            'data-mode': b.mode,
            style: { left: `${b.left.toFixed(3)}%`, width: `${Math.max(b.width, 0.15).toFixed(3)}%` },
            title: `${tOr(`seqmode.${b.mode}`, b.mode)} ${at(b.from)} – ${at(b.to)}`,
          }),
        ),
      ),
    );
  };
  const legend = ['filtering', 'backwash', 'ceb', 'cip', 'rinse', 'service', 'stopped'].map((m) => h('span', { class: 'tl-key' }, h('span', { class: `tl-swatch mode-${m}` }), tOr(`seqmode.${m}`, m)));
  return h(
    'div',
    { class: 'timeline', 'data-testid': 'timeline' },
    row('uf', t('plant.timeline.uf')),
    row('mmf', t('plant.timeline.mmf')),
    row('ro', t('plant.timeline.ro')),
    h('div', { class: 'tl-axis muted' }, h('span', null, at(seq.from)), h('span', null, at(seq.to))),
    h('div', { class: 'tl-legend' }, legend),
  );
}

// ---- the page ----

export async function plantPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  let detail = await getJSON<PlantDetail>(`/plants/${encodeURIComponent(id)}`);
  if (ctx.signal.aborted) return;
  const cfg = detail.config;
  const ents = await settle(enterprises());
  const ent = ents?.get(cfg.enterprise);
  pageTitle(pick(cfg.name, cfg.name_en));

  const diagramBox = h('div', { class: 'diagram-box' });
  const gaugesBox = h('div');
  const actBox = h('div');
  const spBox = h('div');
  const routeBox = h('div');
  const alarmBox = h('div');
  const statusLine = h('p', { class: 'muted', 'data-testid': 'process-time' });
  const trendEl = h('div', { class: 'chart', 'data-testid': 'control-trend' });
  const roEl = h('div', { class: 'chart', 'data-testid': 'ro-trend' });
  const roNote = h('p', { class: 'muted' });
  const tlBox = h('div');
  const cmdBox = h('div', { 'data-testid': 'commands' });
  const reason = h('input', { type: 'text', class: 'reason', placeholder: t('plant.act.reason'), 'data-testid': 'reason' });

  const operate = async (fn: () => Promise<CommandRecord | null>) => {
    try {
      const rec = await fn();
      toast(t('plant.act.done', { id: rec?.id ?? '' }));
      await refresh(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  };
  const act = (name: string, mode: string, value: number) =>
    void operate(() => postJSON<CommandRecord>(`/plants/${encodeURIComponent(id)}/actuators/${encodeURIComponent(name)}/mode`, { mode, value, reason: reason.value }));
  const change = (name: string, value: number) => void operate(() => postJSON<CommandRecord>(`/plants/${encodeURIComponent(id)}/setpoints`, { name, value, reason: reason.value }));
  const accept = (limit: number, preview: number) =>
    void (async () => {
      const cur = detail.live?.tower?.cycles_setpoint ?? null;
      const ok = await confirmDialog(
        t('plant.accept.title'),
        [
          h('p', null, t('plant.accept.confirm', { l: fmtNum(limit, 2), c: num(cur, 2), v: fmtNum(preview, 2) })),
          detail.live?.indices?.binding?.length ? h('p', { class: 'muted' }, t('plant.binding', { b: detail.live.indices.binding.join('; ') })) : null,
          h('p', { class: 'muted' }, t('plant.accept.ledger')),
        ],
        t('plant.accept.ok'),
      );
      if (ok) await operate(() => postJSON<CommandRecord>(`/plants/${encodeURIComponent(id)}/cooling/accept-cycles`, { max_cycles: limit, reason: reason.value }));
    })();

  const renderLive = () => {
    const live = detail.live;
    replace(diagramBox, diagram(live, cfg));
    replace(gaugesBox, gauges(live));
    replace(actBox, detail.can_operate ? h('div', { class: 'operate-tools' }, reason) : null, actuatorTable(live, detail, act));
    replace(spBox, setpointsView(detail, live, change), acceptCyclesView(detail, live, accept));
    replace(routeBox, routingView(live));
    replace(alarmBox, alarmsView(live));
    replace(
      statusLine,
      live ? t('plant.processTime', { t: fmtTime(live.process_time), n: live.step, dt: fmtDuration(live.dt_s) }) + ' · ' + fmtTime(live.time) + ' · ' + t('plant.refresh.hint') : t('plant.notLive'),
    );
  };

  let trendChart: Chart | null = null;
  let roChart: Chart | null = null;
  const loadSlow = async () => {
    // A week of process for the RO, a day for the sequences: for a simulated
    // plant that runs faster, a correspondingly shorter stretch of wall time.
    const to = new Date();
    const window = (processS: number) => ({ from: new Date(to.getTime() - wallWindow(processS, cfg.time_scale)).toISOString(), to: to.toISOString() });
    const [hist, ro, seq, cmds] = await Promise.all([
      settle(getJSON<HistoryPoint[]>(`/plants/${encodeURIComponent(id)}/history`)),
      cfg.reuse ? settle(getJSON<ROTrend>(`/plants/${encodeURIComponent(id)}/ro${qs({ ...window(7 * 86400), points: 240 })}`)) : Promise.resolve(null),
      cfg.reuse ? settle(getJSON<Sequences>(`/plants/${encodeURIComponent(id)}/sequences${qs(window(86400))}`)) : Promise.resolve(null),
      settle(getJSON<CommandRecord[]>(`/plants/${encodeURIComponent(id)}/commands${qs({ limit: 40 })}`)),
    ]);
    if (ctx.signal.aborted) return;
    const simulated = cfg.time_scale !== 1;
    const clock = processClock(detail.live);
    if (hist) {
      if (trendChart) trendChart.setOption(trendOption(hist, simulated));
      else trendChart = makeChart(trendEl, trendOption(hist, simulated), ctx.onCleanup);
    }
    if (ro) {
      if (roChart) roChart.setOption(roOption(ro, clock, simulated));
      else roChart = makeChart(roEl, roOption(ro, clock, simulated), ctx.onCleanup);
      const th = ro.thresholds;
      replace(roNote, ro.points.length ? (th ? t('plant.ro.thresholds', { f: th.FlowDropPct, s: th.SPRisePct, d: th.DPRisePct }) : '') : t('plant.ro.empty'));
    }
    if (seq) replace(tlBox, timeline(seq, clock));
    if (cmds) replace(cmdBox, commandTable(cmds));
  };

  let polls = 0;
  const refresh = async (all = false) => {
    try {
      detail = await getJSON<PlantDetail>(`/plants/${encodeURIComponent(id)}`);
    } catch {
      return; // keep the last view; the next poll tries again
    }
    if (ctx.signal.aborted) return;
    renderLive();
    polls++;
    if (all || polls % 3 === 0) await loadSlow();
  };

  replace(
    ctx.root,
    breadcrumbs([
      { label: t('nav.overview'), href: '/' },
      { label: ent ? pick(ent.name, ent.name_en) : cfg.enterprise, href: `/enterprises/${encodeURIComponent(cfg.enterprise)}` },
      { label: pick(cfg.name, cfg.name_en) },
    ]),
    h('div', { class: 'page-head' }, h('h1', null, pick(cfg.name, cfg.name_en), h('span', { class: 'subtitle' }, cfg.id))),
    cfg.time_scale !== 1 ? h('p', { class: 'muted', 'data-testid': 'simulated' }, t('plant.simulated', { x: cfg.time_scale })) : null,
    statusLine,
    h(
      'div',
      { class: 'grid plant-grid' },
      card(t('plant.diagram'), diagramBox, { wide: true, id: 'diagram-card' }),
      card(t('plant.gauges'), h('div', null, gaugesBox, h('p', { class: 'muted small' }, t('plant.gauges.hint'))), { wide: true, id: 'gauges-card' }),
      card(t('plant.trend'), trendEl, { wide: true }),
      cfg.reuse ? card(t('plant.ro'), h('div', null, roEl, roNote), { wide: true, id: 'ro-card' }) : null,
      cfg.reuse ? card(t('plant.timeline'), tlBox, { wide: true, id: 'timeline-card' }) : null,
      cfg.reuse?.routing ? card(t('plant.route'), routeBox, { wide: true, id: 'routing-card' }) : null,
      card(t('plant.alarms'), alarmBox, { id: 'alarms-card' }),
      card(t('plant.setpoints'), spBox, { id: 'setpoints-card' }),
      card(t('plant.actuators'), actBox, { wide: true, id: 'actuators-card' }),
      card(t('plant.commands'), cmdBox, { wide: true, id: 'commands-card' }),
    ),
  );
  renderLive();
  await loadSlow();
  const timer = window.setInterval(() => void refresh(), 5000);
  ctx.onCleanup(() => window.clearInterval(timer));
}

/**
 * appendPlantsCard adds a card listing an enterprise's controlled plants to
 * a page, if there are any the token may see.
 */
export async function appendPlantsCard(root: HTMLElement, enterprise: string, signal: AbortSignal): Promise<void> {
  const list = await settle(getJSON<PlantSummary[]>(`/plants${qs({ enterprise })}`));
  if (!list || list.length === 0 || signal.aborted) return;
  root.append(
    card(
      t('plants.ofEnterprise'),
      table<PlantSummary>(
        [
          { head: t('plants.col.name'), cell: (p) => h('a', { href: `/plants/${encodeURIComponent(p.id)}`, 'data-plant': p.id }, pick(p.name, p.name_en)) },
          { head: t('plants.col.cycles'), num: true, cell: (p) => num(p.cycles, 2) },
          { head: t('plants.col.product'), num: true, cell: (p) => `${num(p.product_mg_l, 2)} mg/L` },
          { head: t('plants.col.lsi'), num: true, cell: (p) => num(p.lsi, 2) },
          { head: t('plants.col.alarms'), num: true, cell: (p) => String(p.alarms) },
          { head: t('plants.col.overrides'), cell: (p) => (p.locked?.length ? p.locked.join(', ') : '—') },
        ],
        list,
        { rowAttrs: (p) => ({ 'data-plant-row': p.id }) },
      ),
      { wide: true, id: 'plants-card' },
    ),
  );
}
