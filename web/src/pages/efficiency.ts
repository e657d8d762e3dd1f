// An enterprise's water-efficiency indicators (水效指标) for a chosen period:
// every figure of the GB/T 12452-2022 balance with the points it came from
// and the points it lacked, whether it is metered or declared, the water-flow
// Sankey, each product's intake per unit against its quota grades and the
// plan's 2020/2025 figures, its place in the industry's ranking, and the
// water-balance test report as XLSX and PDF.

import './mgmt.css';
import { getComputed, getJSON, qs, type Enterprise, type PeriodBalance, type ProductFigure } from '../app/api';
import { parks, regions, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { dateInShanghai, fmtM3, fmtNum, fmtPct, fmtTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { capabilities, currentMe } from '../app/session';
import { breadcrumbs, card, errorPanel, kpi, loading, pageTitle, table, trustLine } from '../app/ui';
import { INDICATORS, indicatorRows, MAX_PERIOD_DAYS, periodDays, periodFrom, periodLabel, periodQuery, positionIn, presets, yearOf, type IndicatorRow, type Period, type PresetName } from './efficiencymodel';
import { gradeBadge } from './quotas';
import { reportLink } from './reportlink';
import { drawSankey } from './sankeyview';
import { evaluationCard } from './evaluationview';
import { basisBadge } from './targets';
import { displayUnit } from './targetmodel';

function fmtFigure(r: Pick<IndicatorRow, 'kind' | 'value'>): string {
  switch (r.kind) {
    case 'rate':
      return fmtPct(r.value, 1);
    case 'per10k':
      return r.value === null ? '—' : `${fmtNum(r.value, 2)} ${displayUnit('m3/10k CNY')}`;
    default:
      return fmtM3(r.value);
  }
}

function figureLabel(key: string): string {
  const src = key.match(/^intake_by_source_m3\.(.+)$/);
  if (src) return t('eff.bySource', { source: tOr(`source.${src[1]}`, src[1]) });
  return tOr(`eff.ind.${key}`, key);
}

/** ledgerLine says which ledger state the figures were read at, so an auditor can recompute them (shuixiao verify balance). */
function ledgerLine(b: PeriodBalance): HTMLElement | null {
  const cp = b.ledger?.checkpoint;
  const size = cp?.size ?? b.ledger?.size;
  if (size === undefined) return null;
  return h(
    'p',
    { class: 'muted', 'data-testid': 'ledger-state', 'data-size': String(size) },
    t('eff.ledger', { size: fmtNum(size, 0) }),
    cp?.root_hash ? [' · ', t('eff.root'), ' ', h('code', null, cp.root_hash)] : null,
  );
}

function coverageText(r: IndicatorRow): HTMLElement {
  const parts: string[] = [t('eff.points', { n: r.points })];
  if (r.fraction !== null) parts.push(t('eff.ofPeriod', { pct: fmtPct(r.fraction, 0) }));
  return h(
    'span',
    { class: `coverage ${r.missing.length ? 'bad' : r.fraction !== null && r.fraction < 0.95 ? 'warn' : 'good'}`, title: r.note || undefined },
    parts.join(' · '),
    r.missing.length ? h('span', { class: 'bad-text' }, ' ', t('eff.missing', { n: r.missing.length, points: r.missing.join('、') })) : null,
  );
}

function indicatorsTable(rows: IndicatorRow[]): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'eff-indicators' },
    table<IndicatorRow>(
      [
        { head: t('target.indicator'), cell: (r) => figureLabel(r.key) },
        { head: t('eff.value'), cell: (r) => h('span', { 'data-value': r.value === null ? '' : String(r.value) }, fmtFigure(r)), num: true },
        { head: t('target.basis'), cell: (r) => basisBadge(r.basis) },
        { head: t('target.coverage'), cell: (r) => coverageText(r) },
        { head: t('eff.note'), cell: (r) => (r.value === null || r.note ? h('span', { class: 'muted' }, r.note) : '') },
      ],
      rows,
      { rowAttrs: (r) => ({ 'data-figure': r.key }) },
    ),
  );
}

interface ProductRow extends ProductFigure {
  name: string;
}

function productsTable(b: PeriodBalance, ranks: Map<string, HTMLElement>): HTMLElement {
  const rows: ProductRow[] = Object.entries(b.products ?? {}).map(([name, p]) => ({ name, ...p }));
  const perUnit = (v: number | null | undefined, unit?: string) => (v === null || v === undefined ? '—' : `${fmtNum(v, 3)} ${displayUnit(unit)}`.trim());
  return h(
    'div',
    { 'data-testid': 'eff-products' },
    table<ProductRow>(
      [
        { head: t('quotas.product'), cell: (p) => p.name },
        {
          head: t('eff.output'),
          cell: (p) => [
            p.quantity === undefined ? '—' : `${fmtNum(p.quantity, 1)} ${tOr(`unit.${p.output_unit}`, p.output_unit ?? '')}`,
            p.output?.coverage !== undefined && p.output.coverage < 1 ? h('div', { class: 'warning-text' }, t('eff.outputCoverage', { pct: fmtPct(p.output.coverage, 0) })) : null,
            h('div', null, basisBadge(p.output?.basis ?? 'declared')),
          ],
          num: true,
        },
        {
          head: t('eff.perUnit'),
          cell: (p) => [
            h('span', { 'data-value': String(p.intake_per_unit ?? '') }, p.intake_lower_bound && p.intake_per_unit !== null ? '≥ ' : '', perUnit(p.intake_per_unit, p.unit)),
            p.intake_lower_bound ? h('div', { class: 'muted' }, t('eff.lowerBound')) : null,
            p.intake_per_unit === null && p.coverage?.note ? h('div', { class: 'muted' }, p.coverage.note) : null,
          ],
          num: true,
        },
        { head: t('quotas.grade'), cell: (p) => gradeBadge(p.quota_grade) },
        {
          head: t('eff.limits'),
          cell: (p) =>
            (p.quota_limits ?? []).length
              ? [
                  (p.quota_limits ?? []).map((q) => `${tOr(`grade.${q.grade}`, String(q.grade))} ≤ ${fmtNum(q.limit, 2)}`).join(' · '),
                  p.quota_verified === false ? h('span', { class: 'badge warn', title: t('quota.unverified.hint') }, t('quota.unverified')) : null,
                ]
              : h('span', { class: 'muted' }, t('eff.noQuota')),
        },
        { head: t('target.baseline'), cell: (p) => perUnit(p.baseline_2020, p.unit), num: true },
        { head: t('target.target'), cell: (p) => perUnit(p.target_2025, p.unit), num: true },
        { head: t('eff.percentile'), cell: (p) => ranks.get(p.name) ?? '—' },
      ],
      rows,
      { empty: t('eff.noProducts'), rowAttrs: (p) => ({ 'data-product': p.name, 'data-grade': p.quota_grade ?? '' }) },
    ),
  );
}

/**
 * rankCell loads the enterprise's place in its industry for a product: in
 * the period's year, or — when that year has no ranking of it yet (this
 * year's metered figures need a whole hour of data) — in the year before,
 * which the cell then names.
 */
async function rankCell(ent: Enterprise, product: string, year: number): Promise<HTMLElement> {
  try {
    let y = year;
    let pos = positionIn(await getComputed<unknown>(`/benchmark${qs({ industry: ent.industry, product, year: y })}`), ent.id);
    if (!pos && year > 2020) {
      y = year - 1;
      pos = positionIn(await getComputed<unknown>(`/benchmark${qs({ industry: ent.industry, product, year: y })}`), ent.id);
    }
    if (!pos) return h('span', { class: 'muted' }, t('eff.notRanked'));
    return h(
      'span',
      { 'data-percentile': pos.percentile === null ? '' : String(pos.percentile), 'data-rank': String(pos.rank ?? ''), 'data-year': String(y) },
      pos.percentile !== null ? t('eff.percentileValue', { pct: fmtNum(pos.percentile, 0) }) : '',
      pos.rank !== null ? h('span', { class: 'muted' }, ` ${t('eff.rank', { rank: pos.rank, of: pos.of })}`) : null,
      y !== year ? h('span', { class: 'muted' }, ` ${t('eff.rankYear', { year: y })}`) : null,
      pos.leader ? h('span', { class: 'badge ok', title: t('eff.leader.hint') }, t('eff.leader')) : null,
    );
  } catch (e) {
    return errorPanel(e, { compact: true });
  }
}

export async function efficiencyPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const today = dateInShanghai();
  const period: Period = periodFrom(ctx.query, today);
  const caps = capabilities(currentMe()?.role);
  const ent = await getJSON<Enterprise>(`/enterprises/${encodeURIComponent(id)}`);
  if (ctx.signal.aborted) return;
  pageTitle(`${t('eff.title')} · ${pick(ent.name, ent.name_en)}`);
  const [pk, regs] = await Promise.all([ent.park ? settle(parks()) : undefined, settle(regions())]);
  const park = ent.park ? pk?.get(ent.park) : undefined;
  const city = ent.region ? regs?.get(ent.region) : undefined;
  const year = yearOf(period);
  const crumbs: { label: string; href?: string }[] = [];
  if (caps.province) {
    const prov = city?.parent ? regs?.get(city.parent) : undefined;
    if (prov) crumbs.push({ label: pick(prov.name, prov.name_en), href: `/targets?year=${year}` });
    if (city) crumbs.push({ label: pick(city.name, city.name_en), href: `/targets?level=city&code=${city.code}&year=${year}` });
  }
  if (park && currentMe()?.role !== 'enterprise') crumbs.push({ label: pick(park.name, park.name_en), href: `/targets?level=park&code=${encodeURIComponent(park.id)}&year=${year}` });
  crumbs.push({ label: pick(ent.name, ent.name_en), href: `/enterprises/${encodeURIComponent(id)}` });
  crumbs.push({ label: t('eff.title') });

  // Both days are included, as the API takes them.
  // An exact period (RFC 3339 times) shows as the days it touches.
  const days = period.exact ? { from: dateInShanghai(new Date(period.from)), to: dateInShanghai(new Date(Date.parse(period.to) - 1)) } : period;
  const fromInput = h('input', { type: 'date', value: days.from, max: today, 'data-testid': 'from', 'aria-label': t('eff.from') });
  const toInput = h('input', { type: 'date', value: days.to, max: today, 'data-testid': 'to', 'aria-label': t('eff.to') });
  const apply = h('button', { type: 'button', 'data-testid': 'apply-period' }, t('eff.apply'));
  apply.addEventListener('click', () => {
    const p = { from: fromInput.value, to: toInput.value };
    const bad = !p.from || !p.to || p.to < p.from ? t('eff.badPeriod') : periodDays(p) > MAX_PERIOD_DAYS ? t('eff.tooLong', { n: MAX_PERIOD_DAYS }) : '';
    toInput.setCustomValidity(bad);
    if (bad) {
      toInput.reportValidity();
      return;
    }
    setQuery(p as unknown as Record<string, string>);
  });
  toInput.addEventListener('input', () => toInput.setCustomValidity(''));
  const pre = presets(today);
  const presetButtons = (Object.keys(pre) as PresetName[]).map((n) =>
    h('button', { type: 'button', class: pre[n].from === period.from && pre[n].to === period.to ? 'on' : undefined, 'data-preset': n, onclick: () => setQuery(pre[n] as unknown as Record<string, string>) }, t(`eff.preset.${n}`)),
  );

  const headBox = h('div', null, loading());
  const tableBox = h('div', null, loading());
  const sankeyBox = h('div', { class: 'sankey-box' }, loading());
  const productsBox = h('div', null, loading());
  const q = qs(periodQuery(period));

  replace(
    ctx.root,
    breadcrumbs(crumbs),
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, pick(ent.name, ent.name_en), h('span', { class: 'subtitle' }, [t('eff.title'), pick(ent.industry_name, ent.industry_name_en), ent.industry ? `GB/T 4754 ${ent.industry}` : ''].filter(Boolean).join(' · '))),
      h(
        'div',
        { class: 'page-tools' },
        reportLink(`/enterprises/${encodeURIComponent(id)}/report.xlsx${q}`, `balance-${id}-${days.from}.xlsx`, t('report.xlsx'), 'report-xlsx'),
        reportLink(`/enterprises/${encodeURIComponent(id)}/report.pdf${q}`, `balance-${id}-${days.from}.pdf`, t('report.pdf'), 'report-pdf'),
      ),
    ),
    h(
      'div',
      { class: 'filters period', 'data-testid': 'period' },
      h('div', { class: 'segmented', role: 'group' }, presetButtons),
      h('label', null, t('eff.from'), ' ', fromInput),
      h('label', null, t('eff.to'), ' ', toInput),
      apply,
    ),
    headBox,
    card(t('eff.indicators', { period: periodLabel(period, fmtTime) }), tableBox, { wide: true, id: 'eff-indicators-card' }),
    card(t('eff.products'), productsBox, { wide: true, id: 'eff-products-card' }),
    card(t('eff.sankey'), sankeyBox, { wide: true, id: 'eff-sankey-card' }),
    // The GB/T 7119 evaluation of the period's year, with the declared answers.
    evaluationCard(id, year, ctx.signal),
  );

  let b: PeriodBalance;
  try {
    b = await getJSON<PeriodBalance>(`/enterprises/${encodeURIComponent(id)}/balance${q}`);
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(headBox, errorPanel(e));
    for (const box of [tableBox, sankeyBox, productsBox]) replace(box);
    return;
  }
  if (ctx.signal.aborted) return;
  const rows = indicatorRows(b);
  const byKey = new Map(rows.map((r) => [r.key, r]));
  replace(
    headBox,
    h(
      'div',
      { class: 'kpis', 'data-testid': 'eff-headline' },
      INDICATORS.filter((d) => d.headline && byKey.has(d.key)).map((d) => {
        const r = byKey.get(d.key)!;
        return kpi(figureLabel(d.key), fmtFigure(r), { hint: r.basis ? tOr(`basis.${r.basis}`, r.basis) : undefined, tone: r.missing.length ? 'warn' : undefined, testid: `kpi-${d.key}` });
      }),
    ),
    trustLine(b.trust),
    ledgerLine(b),
    (b.missing_points ?? []).length ? h('p', { class: 'warning-text', 'data-testid': 'missing-points' }, t('eff.missingPoints', { n: b.missing_points!.length, points: b.missing_points!.join('、') })) : null,
  );
  replace(tableBox, indicatorsTable(rows));
  if (b.sankey && (b.sankey.nodes ?? []).length) drawSankey(sankeyBox, b, ctx.onCleanup);
  else replace(sankeyBox, h('p', { class: 'empty' }, t('eff.sankeyEmpty')));

  const ranks = new Map<string, HTMLElement>();
  const names = Object.keys(b.products ?? {});
  if (ent.industry && names.length) {
    const cells = await Promise.all(names.map((p) => rankCell(ent, p, year)));
    if (ctx.signal.aborted) return;
    names.forEach((p, i) => ranks.set(p, cells[i]));
  }
  replace(productsBox, productsTable(b, ranks));
}
