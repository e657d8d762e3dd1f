// Province → city → park → enterprise drill-down of the day's water figures.

import { getJSON, qs, type Overview, type OverviewChild } from '../app/api';
import { parks, regions, settle } from '../app/cache';
import { COLORS, makeChart } from '../app/charts';
import { h, replace } from '../app/dom';
import { dateInShanghai, fmtM3, fmtNum, fmtPct } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { navigate, setQuery, type PageContext } from '../app/router';
import { capabilities, currentMe } from '../app/session';
import { breadcrumbs, card, kpi, pageTitle, table } from '../app/ui';
import { appendNetworksCard } from './networks';

type Level = 'province' | 'city' | 'park';

/** childHref is where a row of the overview leads. */
function childHref(c: OverviewChild, date: string): string {
  const d = `&date=${encodeURIComponent(date)}`;
  switch (c.kind) {
    case 'city':
      return `/overview?level=city&code=${encodeURIComponent(c.id)}${d}`;
    case 'park':
      return `/overview?level=park&code=${encodeURIComponent(c.id)}${d}`;
    default:
      return `/enterprises/${encodeURIComponent(c.id)}?date=${encodeURIComponent(date)}`;
  }
}

async function provinceCode(): Promise<string> {
  const regs = await settle(regions());
  for (const r of regs?.values() ?? []) if (!r.parent || r.parent === '0' || r.parent === '000000') return r.code;
  return '430000';
}

/** trail builds the breadcrumbs from the regions and parks lists. */
async function trail(ov: Overview, date: string): Promise<{ label: string; href?: string }[]> {
  const caps = capabilities(currentMe()?.role);
  const regs = await settle(regions());
  const items: { label: string; href?: string }[] = [];
  const d = `&date=${encodeURIComponent(date)}`;
  const regionCrumbs = (code: string | undefined) => {
    const chain = [];
    for (let r = code ? regs?.get(code) : undefined; r; r = r.parent ? regs?.get(r.parent) : undefined) chain.unshift(r);
    for (const r of chain) {
      const level = r.parent && regs?.has(r.parent) ? 'city' : 'province';
      items.push({ label: pick(r.name, r.name_en), href: caps.province ? `/overview?level=${level}&code=${r.code}${d}` : undefined });
    }
  };
  if (ov.level === 'city') regionCrumbs(regs?.get(ov.code)?.parent);
  if (ov.level === 'park') {
    const park = (await settle(parks()))?.get(ov.code);
    regionCrumbs(park?.region);
  }
  items.push({ label: pick(ov.name, ov.name_en) });
  return items;
}

export async function overviewPage(ctx: PageContext): Promise<void> {
  const me = currentMe();
  const caps = capabilities(me?.role);
  let level = (ctx.query.get('level') as Level | null) ?? null;
  let code = ctx.query.get('code');
  if (!level) {
    if (!caps.province && me?.role === 'park' && me.scope) {
      level = 'park';
      code = me.scope;
    } else if (!caps.province && me?.role === 'enterprise' && me.scope) {
      navigate(`/enterprises/${encodeURIComponent(me.scope)}`, true);
      return;
    } else level = 'province';
  }
  if (!code) code = level === 'province' ? await provinceCode() : '';
  const date = ctx.query.get('date') ?? dateInShanghai();

  const ov = await getJSON<Overview>(`/overview${qs({ level, code, date })}`);
  if (ctx.signal.aborted) return;
  pageTitle(pick(ov.name, ov.name_en));
  const crumbs = await trail(ov, date);

  const tot = ov.totals ?? {};
  const sum = (k: keyof OverviewChild) => ov.children.reduce((s, c) => s + (Number(c[k]) || 0), 0);
  const meters = tot.meters ?? sum('meters');
  const online = tot.online ?? sum('online');
  const alarms = tot.alarms ?? sum('alarms');

  const dateInput = h('input', {
    type: 'date',
    value: date,
    max: dateInShanghai(),
    'aria-label': t('common.date'),
    onchange: (ev: Event) => setQuery({ date: (ev.target as HTMLInputElement).value }),
  });

  const childKind = ov.children[0]?.kind ?? (level === 'province' ? 'city' : level === 'city' ? 'park' : 'enterprise');
  const chartEl = h('div', { class: 'chart', id: 'overview-chart', 'data-testid': 'overview-chart' });

  replace(
    ctx.root,
    breadcrumbs(crumbs),
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, pick(ov.name, ov.name_en), h('span', { class: 'subtitle' }, tOr(`level.name.${ov.level}`, ov.level))),
      h('div', { class: 'page-tools' }, h('label', null, t('common.date'), ' ', dateInput)),
    ),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'totals' },
      kpi(t('ind.intake'), fmtM3(tot.intake_m3 ?? sum('intake_m3'))),
      kpi(t('ind.use'), fmtM3(tot.use_m3 ?? sum('use_m3'))),
      kpi(t('ind.reuse'), fmtM3(tot.reuse_m3 ?? sum('reuse_m3'))),
      kpi(t('ind.discharge'), fmtM3(tot.discharge_m3 ?? sum('discharge_m3'))),
      kpi(t('ind.reuseRate'), fmtPct(tot.reuse_rate), { hint: t('ind.reuseRate.hint') }),
      kpi(t('ind.nonconvRate'), fmtPct(tot.nonconv_rate), { hint: t('ind.nonconvRate.hint') }),
      kpi(t('ind.alarms'), fmtNum(alarms, 0), { tone: alarms > 0 ? 'warn' : 'good' }),
      kpi(t('ind.online'), `${fmtNum(online, 0)} / ${fmtNum(meters, 0)}`, { tone: meters > 0 && online < meters ? 'warn' : 'good' }),
    ),
    card(t('overview.chart', { kind: t(`kind.plural.${childKind}` as 'kind.plural.city') }), ov.children.length ? chartEl : h('p', { class: 'empty' }, t('common.empty')), {
      wide: true,
    }),
    card(
      t('overview.table', { kind: t(`kind.plural.${childKind}` as 'kind.plural.city') }),
      table<OverviewChild>(
        [
          { head: t('common.name'), cell: (c) => h('a', { href: childHref(c, date), 'data-drill': c.kind }, pick(c.name, c.name_en)) },
          { head: t('ind.intake'), cell: (c) => fmtM3(c.intake_m3), num: true },
          { head: t('ind.use'), cell: (c) => fmtM3(c.use_m3), num: true },
          { head: t('ind.reuse'), cell: (c) => fmtM3(c.reuse_m3), num: true },
          { head: t('ind.discharge'), cell: (c) => fmtM3(c.discharge_m3), num: true },
          { head: t('ind.reuseRate'), cell: (c) => fmtPct(c.reuse_rate), num: true },
          { head: t('ind.nonconvRate'), cell: (c) => fmtPct(c.nonconv_rate), num: true },
          {
            head: t('ind.alarms'),
            cell: (c) =>
              c.alarms
                ? c.kind === 'enterprise'
                  ? h('a', { class: 'badge warn', href: `/alarms?state=active&enterprise=${encodeURIComponent(c.id)}` }, fmtNum(c.alarms, 0))
                  : h('span', { class: 'badge warn' }, fmtNum(c.alarms, 0))
                : '0',
            num: true,
          },
          { head: t('ind.online'), cell: (c) => `${fmtNum(c.online ?? 0, 0)} / ${fmtNum(c.meters ?? 0, 0)}`, num: true },
        ],
        ov.children,
        { rowAttrs: (c) => ({ 'data-id': c.id }) },
      ),
      { wide: true },
    ),
  );

  if (level === 'park') void appendNetworksCard(ctx.root, { park: ov.code }, t('networks.ofPark'), ctx.signal);
  if (ov.children.length === 0) return;
  const names = ov.children.map((c) => pick(c.name, c.name_en));
  const chart = makeChart(
    chartEl,
    {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { top: 0 },
      grid: { left: 64, right: 56, top: 40, bottom: names.length > 6 ? 90 : 40 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } },
      yAxis: [
        { type: 'value', name: 'm³', axisLabel: { formatter: (v: number) => fmtNum(v, Math.abs(v) < 10 ? 2 : 0) } },
        { type: 'value', name: t('ind.reuseRate'), min: 0, max: 100, axisLabel: { formatter: '{value}%' }, splitLine: { show: false } },
      ],
      series: [
        { name: t('ind.intake'), type: 'bar', data: ov.children.map((c) => c.intake_m3 ?? null), itemStyle: { color: COLORS.intake } },
        { name: t('ind.reuse'), type: 'bar', data: ov.children.map((c) => c.reuse_m3 ?? null), itemStyle: { color: COLORS.reuse } },
        { name: t('ind.discharge'), type: 'bar', data: ov.children.map((c) => c.discharge_m3 ?? null), itemStyle: { color: COLORS.discharge } },
        {
          name: t('ind.reuseRate'),
          type: 'line',
          yAxisIndex: 1,
          data: ov.children.map((c) => (c.reuse_rate === null || c.reuse_rate === undefined ? null : +(c.reuse_rate * 100).toFixed(1))),
          itemStyle: { color: COLORS.rate },
        },
      ],
    },
    ctx.onCleanup,
  );
  // Clicking a bar drills down like the table's links.
  chart?.on('click', (p: { dataIndex?: number }) => {
    const c = p.dataIndex === undefined ? undefined : ov.children[p.dataIndex];
    if (c) navigate(childHref(c, date));
  });
}
