// One pipe network: its map coloured by pressure or flow at a chosen time
// (the reference model set to the measured state, sensors beside it), the
// leak alarms with their candidate pipes highlighted on the map, the repair
// work orders (make, assign, close), and the zone balance with the
// minimum night flow.

import { GraphChart, ScatterChart } from 'echarts/charts';
import * as echarts from 'echarts/core';
import { ApiError, getJSON, getText, postJSON, qs } from '../app/api';
import { enterprises, parks, settle } from '../app/cache';
import { COLORS, SHANGHAI_OFFSET_MS, makeChart, type Chart } from '../app/charts';
import { esc, h, replace } from '../app/dom';
import { fmtM3, fmtNum, fmtPct, fmtTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { capabilities, currentMe } from '../app/session';
import { breadcrumbs, card, download, errorPanel, kpi, loading, pageTitle, table, toast } from '../app/ui';
import {
  FLOW_COLORS,
  PRESSURE_COLORS,
  chartLoad,
  mapData,
  networkMs,
  openLeaks,
  realMs,
  speedOf,
  zoneChart,
  type LeakCandidate,
  type LeakEntry,
  type MapMode,
  type NetState,
  type NetworkDetail,
  type WorkOrder,
  type ZoneBalance,
} from './networkmodel';
import { monitorBadge } from './networks';
import './network.css';

echarts.use([GraphChart, ScatterChart]);

/** The time slider covers two network days, in steps of a quarter hour. */
const SLIDER_MINUTES = 2 * 24 * 60;
const SLIDER_STEP = 15;

const enc = encodeURIComponent;

/** netClock formats a network-time instant (ms) as Beijing wall time "MM-DD hh:mm". */
function netClock(ms: number): string {
  return fmtTime(new Date(ms).toISOString(), false).slice(5);
}

export async function networkPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const caps = capabilities(currentMe()?.role);
  const detail = await getJSON<NetworkDetail>(`/networks/${enc(id)}`); // 403 → access denied
  if (ctx.signal.aborted) return;
  const net = detail.network;
  const clock = detail.config.clock;
  pageTitle(pick(net.name, net.name_en));
  const [pks, ents] = await Promise.all([settle(parks()), settle(enterprises())]);
  const park = net.park ? pks?.get(net.park) : undefined;
  const op = net.enterprise ? ents?.get(net.enterprise) : undefined;

  const mode: MapMode = ctx.query.get('mode') === 'flow' ? 'flow' : 'pressure';
  const offset = Math.max(-SLIDER_MINUTES, Math.min(0, Number(ctx.query.get('at') ?? 0) || 0));
  const chosenLeak = ctx.query.get('leak');

  const leaksP = getJSON<LeakEntry[]>(`/networks/${enc(id)}/leaks${qs({ state: 'all', limit: 20 })}`);
  const ordersP = getJSON<WorkOrder[]>(`/workorders${qs({ network: id })}`);
  const zonesP = getJSON<ZoneBalance>(`/networks/${enc(id)}/zones`);
  const [leaksR, ordersR] = await Promise.allSettled([leaksP, ordersP]);
  if (ctx.signal.aborted) return;
  const leaks = leaksR.status === 'fulfilled' ? leaksR.value : [];
  // The leak whose candidates the map shows: the chosen one, else the
  // newest open one.
  const shown = leaks.find((l) => String(l.alarm.id) === chosenLeak) ?? openLeaks(leaks)[0];
  const candidates: LeakCandidate[] = shown?.leak.candidates ?? [];

  // ---- page skeleton ----
  const mapBox = h('div', { class: 'net-map', 'data-testid': 'network-map' });
  const legend = h('div', { class: 'net-legend' });
  const stateNote = h('p', { class: 'net-note' });
  const timeLabel = h('span', { class: 'net-time-label', 'data-testid': 'network-time' });
  const slider = h('input', {
    type: 'range',
    min: -SLIDER_MINUTES,
    max: 0,
    step: SLIDER_STEP,
    value: offset,
    'aria-label': t('net.time'),
    'data-testid': 'time-slider',
  });
  const sensorsBox = h('div', null, loading());
  const zonesBox = h('div', null, loading());
  const kpis = h('div', { class: 'kpis' });
  const d = net.monitor?.detector;
  const load = chartLoad(d);
  replace(
    kpis,
    kpi(t('net.kpi.size'), `${net.junctions} / ${net.links}`),
    kpi(t('net.kpi.sensors'), String(net.sensors)),
    h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, t('net.kpi.monitor')), h('div', { class: 'kpi-value' }, monitorBadge(net))),
    kpi(t('net.kpi.steps'), fmtNum(d?.steps ?? null, 0), { hint: t('net.kpi.steps.hint', { s: d?.assembler?.skipped ?? 0 }) }),
    kpi(t('net.kpi.load'), load === null ? '—' : fmtPct(load, 0), { hint: t('net.kpi.load.hint'), tone: load !== null && load > 1 ? 'bad' : load !== null && load > 0.6 ? 'warn' : undefined }),
    kpi(t('net.kpi.last'), d?.last_step ? fmtTime(d.last_step) : '—'),
  );
  const modeButtons = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': t('net.map') },
    (['pressure', 'flow'] as const).map((m) =>
      h('button', { type: 'button', class: m === mode ? 'on' : undefined, 'data-mode': m, 'aria-pressed': m === mode ? 'true' : 'false', onclick: () => setQuery({ mode: m === 'pressure' ? undefined : m }) }, t(`net.mode.${m}`)),
    ),
  );
  const latest = h('button', { type: 'button', class: 'secondary small', onclick: () => setQuery({ at: undefined }) }, t('net.time.latest'));
  const leaksBox = h('div', { 'data-testid': 'leaks' });
  const inpButton = h('button', { type: 'button', class: 'secondary', 'data-action': 'inp' }, t('net.inp'));
  inpButton.addEventListener('click', async () => {
    try {
      download(`${id}.inp`, await getText(`/networks/${enc(id)}/inp`));
    } catch (e) {
      failToast(e);
    }
  });
  const ordersBox = h('div', { 'data-testid': 'workorders' });

  const crumbs: { label: string; href?: string }[] = [{ label: t('networks.title'), href: '/networks' }];
  if (park) crumbs.push({ label: pick(park.name, park.name_en), href: `/networks?park=${enc(park.id)}` });
  crumbs.push({ label: pick(net.name, net.name_en) });
  replace(
    ctx.root,
    breadcrumbs(crumbs),
    h(
      'div',
      { class: 'page-head' },
      h(
        'h1',
        null,
        pick(net.name, net.name_en),
        h('span', { class: 'subtitle' }, [park ? pick(park.name, park.name_en) : '', op ? pick(op.name, op.name_en) : net.enterprise ?? ''].filter(Boolean).join(' · ')),
      ),
      h('div', { class: 'page-tools' }, inpButton),
    ),
    speedOf(clock) !== 1 ? h('p', { class: 'muted' }, t('net.clock.fast', { speed: fmtNum(speedOf(clock), 0) })) : null,
    kpis,
    card(t('net.map'), [h('div', { class: 'net-map-tools' }, modeButtons, h('label', null, t('net.time'), ' ', slider), latest, timeLabel), mapBox, legend, stateNote], { wide: true, id: 'map-card' }),
    h('div', { class: 'grid2' }, card(t('net.leaks'), leaksBox, { id: 'leaks-card' }), card(t('net.workorders'), ordersBox, { id: 'workorders-card' })),
    card(t('net.zones'), zonesBox, { wide: true, id: 'zones-card' }),
    card(t('net.sensors'), sensorsBox, { wide: true, id: 'sensors-card' }),
  );

  // ---- map ----
  let chart: Chart | null = null;
  const instantOf = (minutes: number) => realMs(clock, networkMs(clock, Date.now()) + minutes * 60e3);
  const showLabel = (minutes: number) => {
    const real = instantOf(minutes);
    replace(timeLabel, t('net.time.label', { net: netClock(networkMs(clock, real)), real: fmtTime(new Date(real).toISOString(), false).slice(5) }));
  };
  const draw = (state: NetState | null) => {
    const m = mapData(detail, state, mode, candidates);
    mapBox.dataset.highlighted = m.highlighted.join(',');
    mapBox.dataset.mode = mode;
    const byNode = new Map(state?.nodes.map((n) => [n.id, n]) ?? []);
    const byLink = new Map(state?.links.map((l) => [l.id, l]) ?? []);
    const option = {
      tooltip: {
        formatter: (p: { dataType: string; data: { id: string; candidateRank?: number } }) => {
          const rank = p.data.candidateRank ? `<br>${esc(t('net.tip.candidate', { rank: p.data.candidateRank }))}` : '';
          if (p.dataType === 'edge') {
            const l = byLink.get(p.data.id);
            return esc(t('net.tip.link', { id: p.data.id, q: fmtNum(l?.flow ?? null, 1), v: fmtNum(l?.velocity ?? null, 2) })) + rank;
          }
          const n = byNode.get(p.data.id);
          return esc(t('net.tip.node', { id: p.data.id, p: fmtNum(n?.pressure ?? null, 2), h: fmtNum(n?.head ?? null, 2), d: fmtNum(n?.demand ?? null, 2) })) + rank;
        },
      },
      series: [
        {
          type: 'graph',
          layout: 'none',
          roam: true,
          draggable: false,
          data: m.nodes,
          links: m.edges,
          edgeLabel: { show: false, fontSize: 11 },
          label: { show: false, fontSize: 11 },
          emphasis: { focus: 'adjacency', lineStyle: { width: 6 } },
          lineStyle: { curveness: 0 },
          z: 2,
        },
      ],
    };
    if (chart && !chart.isDisposed()) {
      mapBox.dataset.chartState = 'rendering';
      chart.setOption(option, { notMerge: true });
    } else {
      chart = makeChart(mapBox, option, ctx.onCleanup);
    }
    const [lo, hi] = m.range;
    const pal = mode === 'pressure' ? PRESSURE_COLORS : FLOW_COLORS;
    replace(
      legend,
      h('span', null, h('span', { class: 'bar', style: { background: `linear-gradient(90deg, ${pal.join(',')})` } }), t(mode === 'pressure' ? 'net.legend.pressure' : 'net.legend.flow', { lo: fmtNum(lo, 1), hi: fmtNum(hi, 1) })),
      h('span', null, t('net.legend.marks')),
    );
  };
  let seq = 0;
  const loadState = async (minutes: number) => {
    const mine = ++seq;
    showLabel(minutes);
    let state: NetState | null = null;
    try {
      state = await getJSON<NetState>(`/networks/${enc(id)}/state${qs({ time: new Date(instantOf(minutes)).toISOString() })}`);
    } catch (e) {
      if (mine === seq) replace(stateNote, errorPanel(e, { compact: true }));
    }
    if (ctx.signal.aborted || mine !== seq) return;
    draw(state);
    if (state) {
      stateNote.className = state.measured ? 'net-note' : 'net-note warn';
      replace(stateNote, state.measured ? t('net.state.measured', { m: fmtNum(state.demand_multiplier, 3) }) : t('net.state.unmeasured'));
      replace(sensorsBox, sensorsTable(state));
    }
  };
  let debounce = 0;
  slider.addEventListener('input', () => {
    const v = Number(slider.value);
    showLabel(v);
    clearTimeout(debounce);
    debounce = window.setTimeout(() => void loadState(v), 250);
  });
  slider.addEventListener('change', () => setQuery({ at: slider.value === '0' ? undefined : slider.value }));
  ctx.onCleanup(() => clearTimeout(debounce));
  await loadState(offset);
  if (ctx.signal.aborted) return;

  // ---- leaks and work orders ----
  const orders = ordersR.status === 'fulfilled' ? ordersR.value : [];
  if (leaksR.status === 'fulfilled') replace(leaksBox, leaksView(leaks, shown, orders, caps.handleAlarms, offset));
  else replace(leaksBox, errorPanel(leaksR.reason, { compact: true }));
  if (ordersR.status === 'fulfilled') replace(ordersBox, ordersView(orders, leaks, detail, caps.handleAlarms));
  else replace(ordersBox, errorPanel(ordersR.reason, { compact: true }));

  // ---- zones ----
  try {
    const zb = await zonesP;
    if (ctx.signal.aborted) return;
    const view = zonesView(zb, detail, ctx);
    replace(zonesBox, view.box);
    view.draw();
  } catch (e) {
    replace(zonesBox, errorPanel(e, { compact: true }));
  }
}

function sensorsTable(state: NetState): HTMLElement {
  return table(
    [
      { head: t('net.sensor.kind'), cell: (s) => tOr(`net.sensorKind.${s.kind}`, s.kind) },
      { head: t('net.sensor.element'), cell: (s) => s.element },
      { head: t('net.sensor.point'), cell: (s) => s.point },
      { head: t('net.sensor.measured'), num: true, cell: (s) => fmtNum(s.measured, 2) },
      { head: t('net.sensor.modelled'), num: true, cell: (s) => fmtNum(s.modelled, 2) },
      { head: t('net.sensor.diff'), num: true, cell: (s) => (s.measured === null ? '—' : fmtNum(s.measured - s.modelled, 2)) },
    ],
    state.sensors,
    { rowAttrs: (s) => ({ 'data-sensor': `${s.kind}:${s.element}` }) },
  );
}

function failToast(e: unknown): void {
  toast(e instanceof ApiError && e.status === 403 ? t('error.403.title') : (e as Error).message, 'error');
}

function leaksView(leaks: LeakEntry[], shown: LeakEntry | undefined, orders: WorkOrder[], canAct: boolean, offset: number): HTMLElement {
  if (leaks.length === 0) return h('p', { class: 'empty', 'data-testid': 'leaks-empty' }, t('net.leaks.none'));
  return h(
    'div',
    null,
    leaks.map((l) => {
      const open = l.alarm.state !== 'cleared';
      const isShown = l === shown;
      const hasOrder = orders.some((o) => o.alarm === Number(l.alarm.id) && o.state !== 'closed');
      const actions: HTMLElement[] = [];
      if (isShown) actions.push(h('span', { class: 'net-badge net-holding' }, t('net.leak.shown')));
      else actions.push(h('button', { type: 'button', class: 'small secondary', 'data-action': 'show', onclick: () => setQuery({ leak: String(l.alarm.id), at: String(offset) }) }, t('net.leak.show')));
      if (open && canAct && !hasOrder) {
        const b = h('button', { type: 'button', class: 'small', 'data-action': 'create-order' }, t('net.wo.create'));
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            await postJSON('/workorders', { alarm: Number(l.alarm.id) });
            toast(t('net.wo.created'));
            setQuery({});
          } catch (e) {
            b.disabled = false;
            failToast(e);
          }
        });
        actions.push(b);
      }
      return h(
        'div',
        { class: `net-leak${open ? ' open' : ''}${isShown ? ' shown' : ''}`, 'data-leak': String(l.alarm.id), 'data-state': l.alarm.state },
        h(
          'div',
          { class: 'net-leak-head' },
          h('span', { class: `state state-${l.alarm.state}` }, tOr(`alarmState.${l.alarm.state}`, l.alarm.state)),
          h('span', { class: 'flow' }, `${t('net.leak.flow')} ${fmtNum(l.leak.flow_m3h, 1)} m³/h`),
          h('span', null, `${t('net.leak.start')} ${fmtTime(l.leak.start, false)}`),
          h('span', { class: 'muted' }, `${t('net.leak.raised')} ${fmtTime(l.leak.raised, false)}`),
          h('span', null, `${t('net.leak.lost')} ${fmtM3(l.water_lost_m3)}`),
        ),
        h('div', { class: 'muted' }, t('net.leak.candidates')),
        table<LeakCandidate>(
          [
            { head: t('net.cand.rank'), cell: (c) => h('span', { class: 'rank' }, `#${c.rank}`) },
            { head: t('net.cand.link'), cell: (c) => c.link },
            { head: t('net.cand.node'), cell: (c) => c.node },
            { head: t('net.cand.flow'), num: true, cell: (c) => `${fmtNum(c.flow_m3h, 1)} m³/h` },
          ],
          l.leak.candidates.slice(0, 5),
          { rowAttrs: (c) => ({ 'data-candidate-rank': String(c.rank), 'data-link': c.link }) },
        ),
        h('div', { class: 'actions' }, actions),
      );
    }),
  );
}

function ordersView(orders: WorkOrder[], leaks: LeakEntry[], detail: NetworkDetail, canAct: boolean): HTMLElement {
  if (orders.length === 0) return h('p', { class: 'empty' }, t('net.workorders.none'));
  const pipes = h(
    'datalist',
    { id: 'net-pipes' },
    detail.links.filter((l) => l.kind === 'PIPE' || l.kind === 'CVPIPE').map((l) => h('option', { value: l.id })),
  );
  const act = async (path: string, body: unknown, done: (w: WorkOrder) => string, btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      const w = await postJSON<WorkOrder>(path, body);
      toast(w ? done(w) : '');
      setQuery({});
    } catch (e) {
      btn.disabled = false;
      failToast(e);
    }
  };
  const actions = (o: WorkOrder): HTMLElement | string => {
    if (!canAct || o.state === 'closed') return o.repaired_link ? t('net.wo.repairedAt', { link: o.repaired_link }) : '';
    const who = h('input', { type: 'text', placeholder: t('net.wo.assignee.placeholder'), value: o.assignee ?? '', 'aria-label': t('net.wo.assignee'), 'data-field': 'assignee' });
    const assign = h('button', { type: 'button', class: 'small secondary', 'data-action': 'assign' }, t('net.wo.assign'));
    assign.addEventListener('click', () => void act(`/workorders/${o.id}/assign`, { assignee: who.value.trim() }, () => t('net.wo.assigned'), assign));
    const first = leaks.find((l) => Number(l.alarm.id) === o.alarm)?.leak.candidates[0]?.link ?? '';
    const link = h('input', { type: 'text', list: 'net-pipes', placeholder: t('net.wo.repaired'), value: first, 'aria-label': t('net.wo.repaired'), 'data-field': 'repaired' });
    const note = h('input', { type: 'text', class: 'note', placeholder: t('net.wo.note'), 'aria-label': t('net.wo.note') });
    const close = h('button', { type: 'button', class: 'small', 'data-action': 'close' }, t('net.wo.close'));
    close.addEventListener('click', () =>
      void act(`/workorders/${o.id}/close`, { repaired_link: link.value.trim(), note: note.value.trim() }, (w) => t('net.wo.closed', { m3: fmtM3(w.water_lost_m3) }), close),
    );
    return h('div', null, h('div', { class: 'net-wo-form' }, who, assign), h('div', { class: 'net-wo-form' }, link, note, close));
  };
  return h(
    'div',
    null,
    pipes,
    table<WorkOrder>(
      [
        { head: t('net.wo.id'), cell: (o) => String(o.id) },
        { head: t('net.wo.title'), cell: (o) => [o.title, o.note ? h('div', { class: 'muted' }, o.note) : null] },
        { head: t('net.wo.state'), cell: (o) => h('span', { class: `state wo-${o.state}` }, tOr(`woState.${o.state}`, o.state)) },
        { head: t('net.wo.assignee'), cell: (o) => o.assignee || '—' },
        { head: t('net.wo.created.at'), cell: (o) => fmtTime(o.created, false) },
        { head: t('net.wo.leakFlow'), num: true, cell: (o) => `${fmtNum(o.leak_flow_m3h, 1)} m³/h` },
        { head: t('net.wo.lost'), num: true, cell: (o) => fmtM3(o.water_lost_m3) },
        { head: t('net.wo.actions'), cell: actions },
      ],
      orders,
      { rowAttrs: (o) => ({ 'data-workorder': String(o.id), 'data-state': o.state }) },
    ),
  );
}

/** zonesView returns the zone card's content and a function that draws its chart once it is in the page. */
function zonesView(zb: ZoneBalance, detail: NetworkDetail, ctx: PageContext): { box: HTMLElement; draw: () => void } {
  if (zb.zones.length === 0) return { box: h('p', { class: 'empty' }, t('net.zones.none')), draw: () => {} };
  const clock = detail.config.clock;
  const chosen = zb.zones.find((z) => z.id === ctx.query.get('zone')) ?? zb.zones[0];
  const chartEl = h('div', { class: 'net-zone-chart', 'data-testid': 'zone-chart' });
  const z = chosen;
  const last = z.mnf?.[z.mnf.length - 1];
  const box = h(
    'div',
    null,
    h(
      'div',
      { class: 'segmented net-zone-tabs', role: 'group' },
      zb.zones.map((x) => h('button', { type: 'button', class: x.id === z.id ? 'on' : undefined, 'data-zone': x.id, onclick: () => setQuery({ zone: x.id }) }, pick(x.name, x.name_en))),
    ),
    h(
      'div',
      { class: 'kpis' },
      kpi(t('net.zone.inflow'), fmtM3(z.inflow_m3)),
      kpi(t('net.zone.consumption'), fmtM3(z.consumption_m3)),
      kpi(t('net.zone.lossShare'), fmtPct(z.loss_share), { tone: z.loss_share > 0.2 ? 'warn' : undefined }),
      kpi(t('net.zone.lastMnf'), last ? `${fmtNum(last.inflow_m3h, 1)} m³/h` : '—', { hint: last ? netClock(networkMs(clock, Date.parse(last.t))) : undefined }),
    ),
    z.missing?.length ? h('p', { class: 'warning-text' }, t('net.zone.missing', { points: z.missing.join('、') })) : null,
    chartEl,
  );
  const draw = () => {
    const s = zoneChart(zb, z.id, clock);
    if (!s) return;
    const pts = (v: (number | null)[]) => s.x.map((x, i) => [x + SHANGHAI_OFFSET_MS, v[i]]);
    makeChart(
      chartEl,
      {
        useUTC: true,
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 56, right: 20, top: 36, bottom: 40 },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', name: t('net.zone.axis') },
        series: [
          { name: t('net.zone.inflow'), type: 'line', showSymbol: false, data: pts(s.inflow), lineStyle: { color: COLORS.intake }, itemStyle: { color: COLORS.intake } },
          { name: t('net.zone.consumption'), type: 'line', showSymbol: false, data: pts(s.consumption), lineStyle: { color: COLORS.consumption }, itemStyle: { color: COLORS.consumption } },
          { name: t('net.zone.loss'), type: 'line', showSymbol: false, data: pts(s.loss), areaStyle: { opacity: 0.15 }, lineStyle: { color: COLORS.unaccounted }, itemStyle: { color: COLORS.unaccounted } },
          { name: t('net.zone.mnf'), type: 'scatter', symbolSize: 10, data: s.mnf.map((m) => [m.x + SHANGHAI_OFFSET_MS, m.y]), itemStyle: { color: COLORS.rate } },
        ],
      },
      ctx.onCleanup,
    );
  };
  return { box, draw };
}
