// The province target dashboard: the Hunan plan's indicators at one level of
// the roll-up (province → city → park → enterprise, or by industry) against
// their 2020 baseline and 2025 target, each with its trajectory chart
// (actual against the straight 2020 → 2025 path), the rows one level down
// with drill-down, and the enterprises and parks that pull a figure down most.

import './mgmt.css';
import { getComputed, qs, type Computing, type Contributor, type TargetChild, type TargetIndicator, type Targets } from '../app/api';
import { parks, regions, settle } from '../app/cache';
import { COLORS, makeChart } from '../app/charts';
import { h, replace } from '../app/dom';
import { dateInShanghai, fmtNum } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { navigate, setQuery, type PageContext } from '../app/router';
import { breadcrumbs, card, pageTitle, table } from '../app/ui';
import { reportLink } from './reportlink';
import {
  BASELINE_YEAR,
  chartValue,
  childHref,
  contributorHref,
  coverageView,
  displayUnit,
  fmtIndicator,
  hasTrajectory,
  hasYearData,
  indicatorOf,
  isRate,
  latestYearWithData,
  levelBelow,
  targetTrail,
  trajectorySeries,
  worstFor,
} from './targetmodel';

const LEVELS = ['province', 'city', 'park', 'industry'];

/** indicatorName is an indicator's name in the current language. */
function indicatorName(i: Pick<TargetIndicator, 'key' | 'name_zh' | 'name_en'>): string {
  return pick(i.name_zh, i.name_en) || tOr(`target.ind.${i.key}`, i.key);
}

/** onTrackBadge says whether a figure keeps to the straight path. */
export function onTrackBadge(v: boolean | null | undefined): HTMLElement {
  const s = v === true ? 'yes' : v === false ? 'no' : 'unknown';
  return h('span', { class: `badge ${v === true ? 'ok' : v === false ? 'bad' : ''}`, 'data-on-track': s }, t(`target.onTrack.${s}`));
}

/** basisBadge says whether a figure is metered or declared. */
export function basisBadge(basis: string | undefined): HTMLElement | string {
  if (!basis) return '—';
  return h('span', { class: `badge basis basis-${basis.replace(/[^a-z]+/g, '-')}`, title: tOr(`basis.${basis}.hint`, basis), 'data-basis': basis }, tOr(`basis.${basis}`, basis));
}

/** coverageCell shows a coverage with its tone. */
function coverageCell(c: unknown): HTMLElement {
  const v = coverageView(c);
  return h('span', { class: `coverage ${v.tone ?? ''}`, 'data-fraction': v.fraction === null ? '' : String(v.fraction) }, v.text);
}

/** valueCell shows a figure, with the raw number (and which figure it is) for tests and screen readers. */
function valueCell(v: number | null | undefined, unit: string | undefined, field = 'value'): HTMLElement {
  return h('span', { 'data-field': field, 'data-value': v === null || v === undefined ? '' : String(v) }, fmtIndicator(v, unit));
}

function indicatorTable(list: TargetIndicator[], year: number): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'target-indicators' },
    table<TargetIndicator>(
      [
        {
          head: t('target.indicator'),
          cell: (i) => [
            h('span', { 'data-key': i.key, title: i.source || undefined }, indicatorName(i)),
            i.verified === false ? h('span', { class: 'badge warn', title: t('target.unverified.hint') }, t('quota.unverified')) : null,
          ],
        },
        { head: t('target.baseline'), cell: (i) => valueCell(i.baseline_2020, i.unit, 'baseline'), num: true },
        { head: t('target.value', { year }), cell: (i) => valueCell(i.value, i.unit), num: true },
        { head: t('target.expected', { year }), cell: (i) => valueCell(i.expected, i.unit, 'expected'), num: true },
        { head: t('target.target'), cell: (i) => valueCell(i.target_2025, i.unit, 'target'), num: true },
        { head: t('target.onTrack'), cell: (i) => onTrackBadge(i.on_track) },
        { head: t('target.basis'), cell: (i) => basisBadge(i.basis) },
        { head: t('target.coverage'), cell: (i) => coverageCell(i.coverage), num: true },
      ],
      list,
      { rowAttrs: (i) => ({ 'data-indicator': i.key }) },
    ),
  );
}

/** trajectoryCharts lays out one chart per indicator with a trajectory; draw() draws them once in the document. */
function trajectoryCharts(tg: Targets, onCleanup: (fn: () => void) => void): { el: HTMLElement; draw: () => void } {
  const grid = h('div', { class: 'grid2 trajectories' });
  const draws: (() => void)[] = [];
  for (const ind of tg.indicators) {
    const s = trajectorySeries(tg, ind);
    if (!hasTrajectory(s)) continue;
    const el = h('div', { class: 'chart small', 'data-testid': `trajectory-${ind.key}`, 'data-trajectory': ind.key });
    const unit = isRate(ind.unit) ? '%' : displayUnit(ind.unit);
    grid.append(card(indicatorName(ind), el, { id: `trajectory-card-${ind.key}` }));
    draws.push(() => {
      makeChart(
        el,
        {
          tooltip: {
            trigger: 'axis',
            valueFormatter: (v: number | null) => (v === null || v === undefined ? '—' : `${fmtNum(v, 2)} ${unit}`.trim()),
          },
          legend: { top: 0 },
          grid: { left: 56, right: 24, top: 36, bottom: 28 },
          xAxis: { type: 'category', data: s.years.map(String), boundaryGap: false },
          yAxis: { type: 'value', name: unit, scale: true },
          series: [
            {
              name: t('target.series.actual'),
              type: 'line',
              data: s.actual.map((v) => chartValue(v, ind.unit)),
              connectNulls: false,
              symbolSize: 7,
              itemStyle: { color: COLORS.intake },
            },
            {
              name: t('target.series.expected'),
              type: 'line',
              data: s.expected.map((v) => chartValue(v, ind.unit)),
              connectNulls: true,
              symbol: 'none',
              lineStyle: { type: 'dashed' },
              itemStyle: { color: COLORS.grey },
              markLine: {
                symbol: 'none',
                silent: true,
                label: { formatter: t('target.now') },
                data: [{ xAxis: String(tg.year) }],
                lineStyle: { color: COLORS.rate, type: 'dotted' },
              },
            },
          ],
        },
        onCleanup,
      );
    });
  }
  return { el: grid.children.length ? grid : h('p', { class: 'empty' }, t('target.noTrajectory')), draw: () => draws.forEach((d) => d()) };
}

function childrenTable(tg: Targets, year: number): HTMLElement {
  const children = tg.children ?? [];
  const keys = tg.indicators.map((i) => i.key);
  return table<TargetChild>(
    [
      { head: t('common.name'), cell: (c) => h('a', { href: childHref(c, year), 'data-drill': c.level }, pick(c.name, c.name_en) || c.code) },
      ...keys.map((k) => {
        const ind = tg.indicators.find((i) => i.key === k)!;
        return {
          head: indicatorName(ind),
          cell: (c: TargetChild) => {
            const ci = indicatorOf(c, k);
            return ci ? h('span', { class: ci.on_track === false ? 'behind' : undefined }, valueCell(ci.value, ci.unit ?? ind.unit)) : '—';
          },
          num: true,
        };
      }),
      {
        head: t('target.onTrackCount'),
        cell: (c) => {
          const known = c.indicators.filter((i) => i.on_track !== null && i.on_track !== undefined);
          return known.length ? `${fmtNum(known.filter((i) => i.on_track).length, 0)} / ${fmtNum(known.length, 0)}` : '—';
        },
        num: true,
      },
    ],
    children,
    { rowAttrs: (c) => ({ 'data-child': c.code, 'data-level': c.level }) },
  );
}

function worstTable(tg: Targets, year: number): HTMLElement {
  const byKey = new Map(tg.indicators.map((i) => [i.key, i]));
  return h(
    'div',
    { 'data-testid': 'worst' },
    table<Contributor>(
      [
        { head: t('target.worst.kind'), cell: (w) => tOr(`kind.${w.kind}`, w.kind) },
        { head: t('common.name'), cell: (w) => h('a', { href: contributorHref(w, year), 'data-worst': w.kind }, pick(w.name, w.name_en) || w.id) },
        { head: t('target.indicator'), cell: (w) => (byKey.get(w.key) ? indicatorName(byKey.get(w.key)!) : tOr(`target.ind.${w.key}`, w.key)) },
        { head: t('target.worst.value'), cell: (w) => valueCell(w.value, byKey.get(w.key)?.unit), num: true },
        // In the indicator's unit (percentage points for a rate): the share of the unit's gap to its path the part causes.
        { head: t('target.worst.contribution'), cell: (w) => valueCell(w.contribution, byKey.get(w.key)?.unit, 'contribution'), num: true },
      ],
      worstFor(tg.worst),
      { empty: t('target.worst.none') },
    ),
  );
}

/** computingNotice says that the year's roll-up is being computed, with its progress where the server knows it. */
export function computingNotice(c: Computing): HTMLElement {
  const progress = c.series_to_read > 0 ? ` · ${t('targets.computingSeries', { read: c.series_read, total: c.series_to_read })}` : '';
  return h(
    'p',
    { class: 'loading', 'data-testid': 'targets-computing', 'data-year': String(c.year) },
    `${t('targets.computing', { year: c.year, s: Math.round(c.elapsed_ms / 1000) })}${progress}`,
  );
}

export async function targetsPage(ctx: PageContext): Promise<void> {
  const thisYear = Number(dateInShanghai().slice(0, 4));
  const level = LEVELS.includes(ctx.query.get('level') ?? '') ? ctx.query.get('level')! : 'province';
  const code = ctx.query.get('code') ?? '';
  const yq = Number(ctx.query.get('year'));
  const asked = ctx.query.get('year') !== null && Number.isInteger(yq) && yq >= BASELINE_YEAR && yq <= thisYear;
  let year = asked ? yq : thisYear;

  // The year's roll-up may be computing (202): the page says so and asks again until it is done.
  const computing = (c: Computing) => replace(ctx.root, computingNotice(c));
  const fetchYear = (y: number) => getComputed<Targets>(`/targets${qs({ level, code, year: y })}`, computing, ctx.signal);
  let tg = await fetchYear(year);
  if (ctx.signal.aborted) return;
  // Without a year asked for, open on the latest year with data (a fresh
  // demo's current year has none until its meters have run).
  if (!asked && !hasYearData(tg)) {
    const latest = latestYearWithData(tg, thisYear);
    if (latest !== undefined && latest !== year) {
      year = latest;
      tg = await fetchYear(year);
      if (ctx.signal.aborted) return;
    }
  }
  pageTitle(`${t('targets.title')} · ${pick(tg.name, tg.name_en)}`);
  const [regs, pks] = await Promise.all([settle(regions()), settle(parks())]);
  if (ctx.signal.aborted) return;
  const crumbs = targetTrail({ ...tg, year }, regs, pks, pick, t('targets.byIndustry'));

  const years: number[] = [];
  for (let y = thisYear; y >= BASELINE_YEAR; y--) years.push(y);
  const yearSelect = h(
    'select',
    { 'aria-label': t('targets.year'), 'data-testid': 'year', onchange: (ev: Event) => setQuery({ year: (ev.target as HTMLSelectElement).value }) },
    years.map((y) => h('option', { value: String(y), selected: y === year }, String(y))),
  );
  const below = (tg.children ?? [])[0]?.level ?? (level === 'industry' && !code ? 'industry' : levelBelow(level));
  const kindPlural = tOr(`kind.plural.${below}`, below);
  const charts = trajectoryCharts({ ...tg, year }, ctx.onCleanup);

  replace(
    ctx.root,
    breadcrumbs(crumbs),
    tg.computing ? h('p', { class: 'muted', 'data-testid': 'targets-newer' }, t('targets.newerComputing')) : null,
    tg.refresh_error ? h('p', { class: 'warning-text', 'data-testid': 'targets-refresh-error' }, tg.refresh_error) : null,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, pick(tg.name, tg.name_en) || t('targets.title'), h('span', { class: 'subtitle' }, `${t('targets.title')} · ${tOr(`level.name.${tg.level}`, tg.level)}`)),
      h(
        'div',
        { class: 'page-tools' },
        h(
          'div',
          { class: 'segmented', role: 'group' },
          h('button', { type: 'button', class: level !== 'industry' ? 'on' : undefined, 'data-view': 'region', onclick: () => navigate(`/targets?year=${year}`) }, t('targets.byRegion')),
          h('button', { type: 'button', class: level === 'industry' ? 'on' : undefined, 'data-view': 'industry', onclick: () => navigate(`/targets?level=industry&year=${year}`) }, t('targets.byIndustry')),
        ),
        h('label', null, t('targets.year'), ' ', yearSelect),
        reportLink(`/targets/report.xlsx${qs({ level, code, year })}`, `targets-${level}-${code || 'all'}-${year}.xlsx`, t('report.targetsXlsx'), 'report-targets-xlsx'),
      ),
    ),
    h('p', { class: 'muted' }, t('targets.lead')),
    card(t('targets.indicators', { year }), indicatorTable(tg.indicators, year), { wide: true, id: 'indicators-card' }),
    h('h2', { class: 'section' }, t('targets.trajectories')),
    charts.el,
    card(t('targets.children', { kind: kindPlural }), childrenTable(tg, year), { wide: true, id: 'children-card' }),
    card(t('targets.worst'), worstTable(tg, year), { wide: true, id: 'worst-card' }),
  );
  // Charts are drawn once their boxes are in the document and have a size.
  charts.draw();
}
