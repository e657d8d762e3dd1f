// One enterprise: its balance indicators and water-flow Sankey for a day, its
// metering tree (levels 1–3) with live values over server-sent events,
// trends with zoom, and its active alarms.

import { ApiError, getJSON, postJSON, qs, type Alarm, type Channel, type BalanceTrust, type PeriodBalance, type Enterprise, type Meter, type Point, type ReadingPage, type TreeNode } from '../app/api';
import { parks, regions, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { dateInShanghai, hasTime, fmtAgo, fmtM3, fmtNum, fmtPct, fmtTime, fmtValue } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { capabilities, currentMe } from '../app/session';
import { breadcrumbs, card, errorPanel, flagBadges, kpi, levelBadge, loading, pageTitle, statusBadge, table, trustBadge, trustLine } from '../app/ui';
import { appendNetworksCard } from './networks';
import { appendPlantsCard } from './plant';
import { drawSankey } from './sankeyview';
import { trendView, type TrendMeter } from './trend';

/** PointView is a metering-tree node with the point's fields in one place. */
interface PointView {
  id: string;
  name: string;
  name_en?: string;
  level?: number;
  stage?: string;
  source?: string;
  channels: Channel[];
  children: PointView[];
  meters: Meter[];
  today_m3?: number | null;
}

/** normalise accepts both tree shapes: the point inline or nested under "point". */
function normalise(n: TreeNode): PointView {
  const p: Partial<Point> = typeof n.point === 'object' && n.point !== null ? n.point : { id: (n.point as string) ?? n.id };
  return {
    id: p.id ?? n.id ?? '',
    name: p.name ?? n.name ?? p.id ?? '',
    name_en: p.name_en ?? n.name_en,
    level: p.level ?? n.level,
    stage: p.stage ?? n.stage,
    source: p.source ?? n.source,
    channels: p.channels ?? n.channels ?? [],
    children: (n.children ?? []).map(normalise),
    meters: n.meters ?? [],
    today_m3: n.today_m3,
  };
}

function flatten(nodes: PointView[]): PointView[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}

/** Which channels a live cell shows, in order of preference. */
const LIVE_CHANNELS = ['flow_m3h', 'total_m3', 'interval_m3', 'ph', 'cond_us_cm', 'cod_mg_l', 'pressure_mpa'];

function liveText(values: Record<string, number>, channels: Channel[]): string {
  const unit = (name: string) => channels.find((c) => c.name === name)?.unit;
  const shown = LIVE_CHANNELS.filter((c) => c in values).slice(0, 2);
  if (shown.length === 0) shown.push(...Object.keys(values).slice(0, 2));
  return shown.map((c) => fmtValue(values[c], unit(c) ?? (c === 'total_m3' ? 'm3' : c === 'flow_m3h' ? 'm3/h' : undefined))).join(' · ');
}

function treeView(nodes: PointView[], trust?: BalanceTrust): HTMLElement {
  const item = (n: PointView): HTMLElement =>
    h(
      'li',
      { 'data-point': n.id },
      h(
        'div',
        { class: 'tree-row' },
        levelBadge(n.level),
        h('span', { class: 'point-name' }, pick(n.name, n.name_en)),
        n.stage ? h('span', { class: `stage stage-${n.stage}` }, tOr(`stage.${n.stage}`, n.stage)) : null,
        n.source ? h('span', { class: 'source' }, tOr(`source.${n.source}`, n.source)) : null,
        h('span', { class: 'today', title: t('tree.today.hint') }, fmtM3(n.today_m3)),
        trust?.points?.[n.id] ? trustBadge(trust.points[n.id].level) : null,
      ),
      n.meters.length
        ? h(
            'ul',
            { class: 'meters' },
            n.meters.map((m) =>
              h(
                'li',
                { class: 'meter-row' },
                h('a', { href: `/meters/${encodeURIComponent(m.id)}` }, m.id),
                statusBadge(m.status),
                h('span', { class: 'live', 'data-live-meter': m.id }, '—'),
                h('span', { class: 'live-time muted', 'data-live-time': m.id }, hasTime(m.last_time) ? fmtAgo(m.last_time) : ''),
              ),
            ),
          )
        : null,
      n.children.length ? h('ul', { class: 'tree' }, n.children.map(item)) : null,
    );
  return h('ul', { class: 'tree root', 'data-testid': 'tree' }, nodes.map(item));
}

/** num reads a figure of the balance (RESULT.json: a number, or null when absent). */
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function indicatorsView(b: PeriodBalance): HTMLElement {
  // The KPI is the unaccounted share between the levels, (level 1 − Σ level 2) ÷ level 1,
  // judged against the balance tolerance.
  const err = num(b.leakage_rate);
  const tol = b.balance_tolerance ?? 0.05;
  const errTone = err === null ? undefined : Math.abs(err) > tol ? 'bad' : 'good';
  const missing = b.missing_points ?? [];
  const leakage = num(b.leakage_m3);
  const kpis = h(
    'div',
    { class: 'kpis', 'data-testid': 'indicators' },
    kpi(t('ind.intake'), fmtM3(num(b.intake_m3))),
    kpi(t('ind.use'), fmtM3(num(b.total_use_m3)), { hint: t('ind.use.hint') }),
    kpi(t('ind.reuse'), fmtM3(num(b.reuse_m3))),
    kpi(t('ind.consumption'), fmtM3(num(b.consumption_m3))),
    kpi(t('ind.discharge'), fmtM3(num(b.discharge_m3))),
    kpi(t('ind.unaccounted'), fmtM3(leakage), { hint: t('ind.unaccounted.hint'), tone: (leakage ?? 0) > 0 ? 'warn' : undefined }),
    kpi(t('ind.reuseRate'), fmtPct(num(b.reuse_rate)), { hint: t('ind.reuseRate.hint') }),
    kpi(t('ind.balanceError'), fmtPct(err, 2), { hint: t('ind.balanceError.hint'), tone: errTone }),
  );
  return h('div', null, kpis, trustLine(b.trust), missing.length ? h('p', { class: 'warning-text', 'data-testid': 'missing-points' }, t('ind.missing', { n: missing.length, points: missing.join('、') })) : null);
}

export async function enterprisePage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const date = ctx.query.get('date') ?? dateInShanghai();
  const caps = capabilities(currentMe()?.role);
  const ent = await getJSON<Enterprise>(`/enterprises/${encodeURIComponent(id)}`); // 403 → the page says access denied
  if (ctx.signal.aborted) return;
  pageTitle(pick(ent.name, ent.name_en));

  const park = ent.park ? (await settle(parks()))?.get(ent.park) : undefined;
  const regs = await settle(regions());
  const city = ent.region ? regs?.get(ent.region) : undefined;
  const crumbs: { label: string; href?: string }[] = [];
  if (caps.province) {
    const prov = city?.parent ? regs?.get(city.parent) : undefined;
    if (prov) crumbs.push({ label: pick(prov.name, prov.name_en), href: `/overview?level=province&code=${prov.code}&date=${date}` });
    if (city) crumbs.push({ label: pick(city.name, city.name_en), href: `/overview?level=city&code=${city.code}&date=${date}` });
  }
  if (park && currentMe()?.role !== 'enterprise') {
    crumbs.push({ label: pick(park.name, park.name_en), href: `/overview?level=park&code=${encodeURIComponent(park.id)}&date=${date}` });
  }
  crumbs.push({ label: pick(ent.name, ent.name_en) });

  const indicatorsBox = h('div', null, loading());
  const sankeyBox = h('div', { class: 'sankey-box' }, loading());
  const treeBox = h('div', null, loading());
  const trendBox = h('div', null, loading());
  const alarmsBox = h('div', null, loading());
  const liveState = h('span', { class: 'live-state', 'data-testid': 'live-state', 'data-state': 'connecting' }, t('live.connecting'));
  const feed = h('tbody', null, h('tr', { class: 'waiting' }, h('td', { colspan: 6 }, t('live.waiting'))));
  const feedTable = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'feed', 'data-testid': 'live-feed' },
      h('thead', null, h('tr', null, h('th', null, t('reading.time')), h('th', null, t('reading.meter')), h('th', { class: 'num' }, t('reading.seq')), h('th', { class: 'num' }, t('reading.index')), h('th', null, t('reading.values')), h('th', null, t('reading.flags')))),
      feed,
    ),
  );

  replace(
    ctx.root,
    breadcrumbs(crumbs),
    h(
      'div',
      { class: 'page-head' },
      h(
        'h1',
        null,
        pick(ent.name, ent.name_en),
        h('span', { class: 'subtitle' }, [pick(ent.industry_name, ent.industry_name_en), ent.industry ? `GB/T 4754 ${ent.industry}` : ''].filter(Boolean).join(' · ')),
      ),
      h(
        'div',
        { class: 'page-tools' },
        h('a', { class: 'button-link', href: `/enterprises/${encodeURIComponent(id)}/efficiency`, 'data-testid': 'efficiency-link' }, t('eff.title')),
        h(
          'label',
          null,
          t('common.date'),
          ' ',
          h('input', {
            type: 'date',
            value: date,
            max: dateInShanghai(),
            'aria-label': t('common.date'),
            onchange: (ev: Event) => setQuery({ date: (ev.target as HTMLInputElement).value }),
          }),
        ),
      ),
    ),
    ent.products?.length ? h('p', { class: 'muted' }, t('enterprise.products'), ': ', ent.products.join('、')) : null,
    indicatorsBox,
    card(t('enterprise.sankey', { date }), sankeyBox, { wide: true, id: 'sankey-card' }),
    h(
      'div',
      { class: 'grid2' },
      card(t('enterprise.tree'), treeBox, { id: 'tree-card' }),
      card([t('enterprise.live'), ' ', liveState], feedTable, { id: 'live-card' }),
    ),
    card(t('enterprise.trend'), trendBox, { wide: true, id: 'trend-card' }),
    card(t('enterprise.alarms'), alarmsBox, {
      wide: true,
      actions: h('a', { href: `/alarms?state=all&enterprise=${encodeURIComponent(id)}` }, t('enterprise.allAlarms')),
    }),
  );

  void appendNetworksCard(ctx.root, { enterprise: id }, t('networks.ofEnterprise'), ctx.signal);
  void appendPlantsCard(ctx.root, id, ctx.signal);
  const balanceP = getJSON<PeriodBalance>(`/enterprises/${encodeURIComponent(id)}/balance${qs({ from: date, to: date })}`);
  const treeP = getJSON<TreeNode[]>(`/enterprises/${encodeURIComponent(id)}/tree`);
  const alarmsP = getJSON<Alarm[]>(`/alarms${qs({ state: 'active', enterprise: id })}`);

  // Each section fails on its own: one refused request does not blank the page.
  const [balance, tree, alarms] = await Promise.allSettled([balanceP, treeP, alarmsP]);
  if (ctx.signal.aborted) return;

  if (balance.status === 'fulfilled') {
    replace(indicatorsBox, indicatorsView(balance.value));
    drawSankey(sankeyBox, balance.value, ctx.onCleanup);
  } else {
    replace(indicatorsBox);
    replace(sankeyBox, errorPanel(balance.reason, { compact: true }));
  }

  let points: PointView[] = [];
  if (tree.status === 'fulfilled') {
    const roots = tree.value.map(normalise);
    points = flatten(roots);
    replace(treeBox, roots.length ? treeView(roots, balance.status === 'fulfilled' ? balance.value.trust : undefined) : h('p', { class: 'empty' }, t('tree.empty')));
    const meters: TrendMeter[] = points.flatMap((p) =>
      p.meters.map((m) => ({ id: m.id, label: `${pick(p.name, p.name_en)} · ${m.id}`, channels: p.channels })),
    );
    // Level 1 intake first: the figure a water manager looks at first.
    meters.sort((a, b) => rank(a.id) - rank(b.id));
    replace(trendBox, trendView(meters, ctx.onCleanup));
    void seedLive(points, ctx.signal);
  } else {
    replace(treeBox, errorPanel(tree.reason, { compact: true }));
    replace(trendBox);
  }
  function rank(meterID: string): number {
    const p = points.find((x) => x.meters.some((m) => m.id === meterID));
    return (p?.level ?? 9) * 10 + (p?.stage === 'intake' ? 0 : 1);
  }

  if (alarms.status === 'fulfilled') replace(alarmsBox, alarmTable(alarms.value));
  else replace(alarmsBox, errorPanel(alarms.reason, { compact: true }));

  openStream(id, points, feed, liveState, alarmsBox, ctx);
}

function alarmTable(list: Alarm[]): HTMLElement {
  return table<Alarm>(
    [
      { head: t('alarm.severity'), cell: (a) => h('span', { class: `sev sev-${a.severity ?? 'warning'}` }, tOr(`severity.${a.severity}`, a.severity ?? '')) },
      { head: t('alarm.kind'), cell: (a) => tOr(`alarmKind.${a.kind}`, a.kind) },
      { head: t('alarm.message'), cell: (a) => pick(a.message, a.message_en) },
      { head: t('alarm.meter'), cell: (a) => (a.meter ? h('a', { href: `/meters/${encodeURIComponent(a.meter)}` }, a.meter) : '—') },
      { head: t('alarm.raised'), cell: (a) => fmtTime(a.raised) },
    ],
    list,
    { empty: t('alarm.none') },
  );
}

/** seedLive fills the live cells with each meter's latest reading before the stream delivers new ones. */
async function seedLive(points: PointView[], signal: AbortSignal): Promise<void> {
  const to = new Date(Date.now() + 3600e3).toISOString();
  const from = new Date(Date.now() - 2 * 86400e3).toISOString();
  await Promise.all(
    points.flatMap((p) =>
      p.meters.map(async (m) => {
        const page = await settle(getJSON<ReadingPage>(`/readings${qs({ meter: m.id, from, to, limit: 1, order: 'desc' })}`));
        const r = page?.items?.[0];
        if (!r || signal.aborted) return;
        setLive(m.id, r.values, p.channels, r.time, false);
      }),
    ),
  );
}

function setLive(meter: string, values: Record<string, number>, channels: Channel[], time: string, flash: boolean): void {
  const cell = document.querySelector<HTMLElement>(`[data-live-meter="${CSS.escape(meter)}"]`);
  if (!cell) return;
  // A late seed must not overwrite a newer streamed value.
  if (cell.dataset.time && cell.dataset.time > time) return;
  cell.dataset.time = time;
  cell.textContent = liveText(values, channels);
  const tm = document.querySelector<HTMLElement>(`[data-live-time="${CSS.escape(meter)}"]`);
  if (tm) {
    tm.textContent = fmtTime(time);
    tm.title = time;
  }
  if (flash) {
    cell.classList.remove('flash');
    void cell.offsetWidth; // restart the CSS animation
    cell.classList.add('flash');
  }
}

interface StreamReading {
  meter: string;
  seq: number;
  index: number;
  time: string;
  values: Record<string, number>;
  flags?: string[] | null;
}

function openStream(id: string, points: PointView[], feed: HTMLElement, state: HTMLElement, alarmsBox: HTMLElement, ctx: PageContext): void {
  if (ctx.signal.aborted || typeof EventSource === 'undefined') return;
  const channelsOf = new Map(points.flatMap((p) => p.meters.map((m) => [m.id, p.channels] as const)));
  const setState = (s: 'connecting' | 'live' | 'reconnecting' | 'closed') => {
    state.dataset.state = s;
    state.textContent = t(`live.${s}`);
  };
  const listen = (es: EventSource) => {
    es.addEventListener('reading', (ev) => {
      let r: StreamReading;
      try {
        r = JSON.parse((ev as MessageEvent<string>).data) as StreamReading;
      } catch {
        return;
      }
      setState('live');
      setLive(r.meter, r.values ?? {}, channelsOf.get(r.meter) ?? [], r.time, true);
      const row = h(
        'tr',
        { class: 'new' },
        h('td', null, fmtTime(r.time)),
        h('td', null, h('a', { href: `/meters/${encodeURIComponent(r.meter)}` }, r.meter)),
        h('td', { class: 'num' }, fmtNum(r.seq, 0)),
        h('td', { class: 'num' }, fmtNum(r.index, 0)),
        h('td', null, liveText(r.values ?? {}, channelsOf.get(r.meter) ?? [])),
        h('td', null, flagBadges(r.flags)),
      );
      feed.querySelector('tr.waiting')?.remove();
      feed.prepend(row);
      while (feed.children.length > 12) feed.lastElementChild?.remove();
    });
    es.addEventListener('alarm', (ev) => {
      try {
        const a = JSON.parse((ev as MessageEvent<string>).data) as Alarm;
        const tbody = alarmsBox.querySelector('tbody');
        if (!tbody) replace(alarmsBox, alarmTable([a]));
        else tbody.prepend(alarmTable([a]).querySelector('tbody tr')!);
      } catch {
        // ignore a malformed event
      }
    });
  };
  // EventSource cannot send headers, and the API takes no token in a URL:
  // a one-use ticket, asked for with the token in the header, opens the
  // stream. A ticket cannot reopen it, so on an error the page closes the
  // stream and opens another with a new ticket, waiting longer each time.
  let es: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  ctx.onCleanup(() => {
    es?.close();
    clearTimeout(timer);
  });
  const again = () => {
    if (ctx.signal.aborted) return;
    timer = setTimeout(() => void connect(), Math.min(30_000, 1000 * 2 ** failures++));
  };
  const connect = async () => {
    let ticket: string;
    try {
      ticket = (await postJSON<{ ticket: string }>('/stream/ticket'))?.ticket ?? '';
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return setState('closed');
      setState('reconnecting');
      return again();
    }
    if (ctx.signal.aborted) return;
    es = new EventSource(`/api/v1/stream${qs({ enterprise: id, ticket })}`);
    listen(es);
    es.addEventListener('open', () => {
      failures = 0;
      setState('live');
    });
    es.addEventListener('error', () => {
      es?.close();
      setState('reconnecting');
      again();
    });
  };
  void connect();
}

