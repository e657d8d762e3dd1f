// Plans and permits (计划用水与取水许可): the overview of the enterprises a
// caller sees with their shares at the alarm thresholds and the parks'
// headroom (以水定产); an enterprise's year with its months against plan,
// permits and over-plan tiers (?enterprise=ID); a park's headroom
// (?park=ID). Figures from GET /plans, /enterprises/{id}/plan,
// /enterprises/{id}/permits and /parks/{id}/headroom.

import './mgmt.css';
import { getJSON, qs } from '../app/api';
import { COLORS, makeChart } from '../app/charts';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime } from '../app/format';
import { t, tOr } from '../app/i18n';
import type { PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { breadcrumbs, card, kpi, pageTitle, table } from '../app/ui';
import { fmtShare, headroom, levelCounts, monthBars, permitRows, shareTone, sortRows, tierLabel, type ParkView, type Permit, type PlanRow, type Status } from './planmodel';

interface Overview {
  year: number;
  through: string;
  thresholds: number[];
  schedule: { name: string; source: string; verified: boolean };
  rows: PlanRow[];
  parks: ParkView[];
  province?: ParkView;
}

interface EnterprisePlan {
  plan: { monthly_m3: number[] };
  status: Status;
  row: PlanRow;
  permits: Permit[];
}

const m3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : fmtNum(v, v < 100 ? 1 : 0));

function shareCell(v: PlanRow['month_share'], thresholds: number[]): HTMLElement {
  const tone = shareTone(v, thresholds);
  return h('span', { class: `share share-${tone} ${tone === 'bad' ? 'bad-text' : tone === 'warn' ? 'warning-text' : ''}`.trim(), 'data-tone': tone }, fmtShare(v));
}

function levelBadge(level: string): HTMLElement {
  const tone = level === 'over' ? 'bad' : level === 'near' ? 'warn' : 'ok';
  return h('span', { class: `badge ${tone}`, 'data-level': level }, tOr(`plans.level.${level}`, level));
}

function productsCell(p: ParkView): HTMLElement | string {
  const hr = headroom(p);
  if (hr.exceeded) return h('span', { class: 'bad-text' }, t('plans.exceeded'));
  if (hr.products.length === 0) return '—';
  return h('span', null, hr.products.map((x) => `${x.product} ${fmtNum(x.allowed, 0)}${x.unit ? ' ' + x.unit : ''}`).join(' · '));
}

export async function plansPage(ctx: PageContext): Promise<void> {
  const me = currentMe();
  const ent = ctx.query.get('enterprise') ?? (me?.role === 'enterprise' ? me.scope : null);
  const park = ctx.query.get('park');
  const year = ctx.query.get('year') ?? undefined;
  if (ent) return enterprisePlanPage(ctx, ent, year);
  if (park) return parkHeadroomPage(ctx, park, year);
  pageTitle(t('plans.title'));
  const ov = await getJSON<Overview>(`/plans${qs({ year })}`);
  if (ctx.signal.aborted) return;
  const rows = sortRows(ov.rows ?? []);
  const counts = levelCounts(rows);
  const th = ov.thresholds ?? [];
  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('plans.title'), h('span', { class: 'subtitle' }, t('plans.subtitle')))),
    h('p', { class: 'muted' }, t('plans.lead')),
    h('p', { 'data-testid': 'plans-year' }, t('plans.year', { year: ov.year, through: fmtTime(ov.through, false) }), ' · ', t('plans.thresholds', { list: th.map((x) => `${Math.round(x * 100)} %`).join(' / ') })),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'plans-summary' },
      kpi(t('plans.enterprises'), fmtNum(rows.length, 0)),
      kpi(t('plans.over'), fmtNum(counts.over, 0), { tone: counts.over > 0 ? 'bad' : 'good', testid: 'count-over' }),
      kpi(t('plans.near'), fmtNum(counts.near, 0), { tone: counts.near > 0 ? 'warn' : 'good', testid: 'count-near' }),
      ov.province ? kpi(t('plans.province'), `${fmtNum(ov.province.intake_to_date_m3, 0)} / ${fmtNum(ov.province.allocation_m3, 0)} m³`, { hint: fmtShare(ov.province.share) }) : null,
    ),
    card(
      t('plans.title'),
      table(
        [
          { head: t('plans.col.enterprise'), cell: (r: PlanRow) => h('a', { href: `/plans?enterprise=${encodeURIComponent(r.enterprise)}` }, r.name || r.enterprise) },
          { head: t('plans.col.annual'), cell: (r) => m3(r.plan_annual_m3), num: true },
          { head: t('plans.col.toDate'), cell: (r) => m3(r.intake_to_date_m3), num: true },
          { head: t('plans.col.shareToDate'), cell: (r) => shareCell(r.share_to_date, th), num: true },
          { head: t('plans.col.month'), cell: (r) => shareCell(r.month_share, th), num: true },
          { head: t('plans.col.permit'), cell: (r) => shareCell(r.permit_share, th), num: true },
          { head: t('plans.col.over'), cell: (r) => m3(r.over_plan_m3), num: true },
          { head: t('plans.col.level'), cell: (r) => h('span', null, levelBadge(r.level), r.incomplete ? h('span', { class: 'muted' }, ' ', t('plans.incomplete')) : null) },
        ],
        rows,
        { empty: t('plans.empty'), rowAttrs: (r) => ({ 'data-enterprise': r.enterprise, 'data-level': r.level }) },
      ),
      { wide: true, id: 'plans-rows' },
    ),
    card(
      t('plans.parks'),
      table(
        [
          { head: t('plans.col.park'), cell: (p: ParkView) => h('a', { href: `/plans?park=${encodeURIComponent(p.park)}` }, p.name || p.park) },
          { head: t('plans.col.allocation'), cell: (p) => m3(p.allocation_m3), num: true },
          { head: t('plans.col.toDate'), cell: (p) => m3(p.intake_to_date_m3), num: true },
          { head: t('plans.col.remaining'), cell: (p) => m3(p.remaining_m3), num: true },
          { head: t('plans.col.products'), cell: productsCell },
        ],
        ov.parks ?? [],
        { rowAttrs: (p) => ({ 'data-park': p.park }) },
      ),
      { wide: true, id: 'plans-parks' },
    ),
  );
}

async function enterprisePlanPage(ctx: PageContext, id: string, year: string | undefined): Promise<void> {
  const [res, ov] = await Promise.all([getJSON<EnterprisePlan>(`/enterprises/${encodeURIComponent(id)}/plan${qs({ year })}`), getJSON<Overview>(`/plans${qs({ year })}`)]);
  if (ctx.signal.aborted) return;
  const st = res.status;
  const th = ov.thresholds ?? [];
  const name = res.row?.name || id;
  pageTitle(t('plans.enterprise.title', { name, year: st.year }));
  const bars = monthBars(st, res.plan?.monthly_m3 ?? null, th);
  const chartEl = h('div', { class: 'chart', 'data-testid': 'plan-months' });
  const tone = { ok: COLORS.intake, warn: '#d89614', bad: COLORS.unaccounted, none: COLORS.grey };
  const permits = permitRows(res.permits ?? [], st, th);
  replace(
    ctx.root,
    breadcrumbs([{ label: t('plans.title'), href: '/plans' }, { label: name }]),
    h('div', { class: 'page-head' }, h('h1', null, t('plans.enterprise.title', { name, year: st.year }))),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'plan-kpis' },
      kpi(t('plans.kpi.annual'), `${m3(st.plan_annual_m3)} m³`),
      kpi(t('plans.kpi.toDate'), `${m3(st.intake_to_date_m3)} / ${m3(st.plan_to_date_m3)} m³`, { hint: fmtShare(st.share_to_date), tone: shareTone(st.share_to_date, th) === 'bad' ? 'bad' : shareTone(st.share_to_date, th) === 'warn' ? 'warn' : 'good', testid: 'share-to-date' }),
      kpi(t('plans.kpi.over'), `${m3(st.over_plan_m3)} m³`, { tone: st.over_plan_m3 > 0 ? 'bad' : 'good' }),
    ),
    card(t('plans.months'), chartEl, { wide: true }),
    card(
      t('plans.permits'),
      table(
        [
          { head: t('plans.col.number'), cell: (p) => p.id },
          { head: t('plans.col.source'), cell: (p) => tOr(`source.${p.source}`, p.source) },
          { head: t('plans.col.volume'), cell: (p) => m3(p.annual), num: true },
          { head: t('plans.col.valid'), cell: (p) => `${p.validFrom} – ${p.validTo}` },
          { head: t('plans.col.used'), cell: (p) => (p.inYear ? m3(p.used) : h('span', { class: 'muted' }, t('plans.notInYear'))), num: true },
          { head: t('plans.col.permit'), cell: (p) => (p.inYear ? shareCell(p.share, th) : '—'), num: true },
        ],
        permits,
        { empty: t('plans.noPermits'), rowAttrs: (p) => ({ 'data-permit': p.id, 'data-tone': p.tone }) },
      ),
      { wide: true, id: 'plan-permits' },
    ),
    card(
      t('plans.tiers'),
      h(
        'div',
        null,
        table(
          [
            { head: t('plans.col.tier'), cell: (x: NonNullable<Status['tiers']>[number]) => tierLabel(x.from, x.up_to) },
            { head: t('plans.col.surcharge'), cell: (x) => `×${fmtNum(x.surcharge, 1)}`, num: true },
            { head: t('plans.col.tierM3'), cell: (x) => m3(x.m3), num: true },
          ],
          st.tiers ?? [],
        ),
        h('p', { class: 'muted' }, t('plans.schedule', { name: ov.schedule?.name ?? st.schedule, source: ov.schedule?.source ?? '' })),
      ),
      { wide: true, id: 'plan-tiers' },
    ),
  );
  makeChart(
    chartEl,
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: bars.labels },
      yAxis: { type: 'value', name: 'm³' },
      series: [
        { name: t('plans.series.plan'), type: 'bar', data: bars.plan, itemStyle: { color: '#c9d6e3' } },
        { name: t('plans.series.intake'), type: 'bar', data: bars.intake.map((v, i) => (v === null ? null : { value: v, itemStyle: { color: tone[bars.tone[i]] } })), itemStyle: { color: COLORS.intake } },
      ],
    },
    ctx.onCleanup,
  );
}

async function parkHeadroomPage(ctx: PageContext, id: string, year: string | undefined): Promise<void> {
  const res = await getJSON<ParkView & { rows: PlanRow[] }>(`/parks/${encodeURIComponent(id)}/headroom${qs({ year })}`);
  if (ctx.signal.aborted) return;
  const name = res.name || id;
  pageTitle(t('plans.headroom', { name }));
  const hr = headroom(res);
  replace(
    ctx.root,
    breadcrumbs([{ label: t('plans.title'), href: '/plans' }, { label: name }]),
    h('div', { class: 'page-head' }, h('h1', null, t('plans.headroom', { name }))),
    h('p', { class: 'muted' }, t('plans.headroomLead')),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'headroom-kpis' },
      kpi(t('plans.col.allocation'), m3(res.allocation_m3)),
      kpi(t('plans.col.toDate'), m3(res.intake_to_date_m3), { hint: fmtShare(res.share) }),
      kpi(t('plans.col.remaining'), hr.exceeded ? t('plans.exceeded') : m3(res.remaining_m3), { tone: hr.exceeded ? 'bad' : 'good', testid: 'remaining' }),
    ),
    card(
      t('plans.col.products'),
      table(
        [
          { head: t('plans.col.product'), cell: (x) => x.product },
          { head: t('plans.col.output'), cell: (x) => `${fmtNum(x.output_to_date, 0)}${x.unit ? ' ' + x.unit : ''}`, num: true },
          { head: t('plans.col.perUnit'), cell: (x) => fmtNum(x.intake_per_unit_m3, 2), num: true },
          { head: t('plans.col.allowed'), cell: (x) => `${fmtNum(x.allowed, 0)}${x.unit ? ' ' + x.unit : ''}`, num: true },
        ],
        hr.products,
      ),
      { wide: true, id: 'headroom-products' },
    ),
    card(
      t('plans.title'),
      table(
        [
          { head: t('plans.col.enterprise'), cell: (r: PlanRow) => h('a', { href: `/plans?enterprise=${encodeURIComponent(r.enterprise)}` }, r.name || r.enterprise) },
          { head: t('plans.col.annual'), cell: (r) => m3(r.plan_annual_m3), num: true },
          { head: t('plans.col.toDate'), cell: (r) => m3(r.intake_to_date_m3), num: true },
          { head: t('plans.col.level'), cell: (r) => levelBadge(r.level) },
        ],
        sortRows(res.rows ?? []),
      ),
      { wide: true },
    ),
  );
}
