// The quota board (定额看板): every enterprise × product with its intake per
// unit of product, the quota limit, the grade reached (1/2/3) or over quota,
// and its retrofit case (限期实施节水改造) with the state and deadline; and
// the page of one case with its history and the transitions the user may make.

import './mgmt.css';
import { ApiError, getJSON, postJSON, qs, type QuotaCase } from '../app/api';
import { enterprises, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { dateInShanghai, fmtNum, fmtTime, hasTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { breadcrumbs, card, kpi, pageTitle, table, toast } from '../app/ui';
import { caseLinkCard } from './caselinkview';
import { basisBadge } from './targets';
import { periodFrom, periodLabel, periodQuery, presets, type PresetName } from './efficiencymodel';
import { displayUnit, yearPeriod } from './targetmodel';
import { boardCounts, boardRows, daysLeft, gradeTone, filterBoard, historyInOrder, sortBoard, summarise, transitionsFor, usage, type BoardFilter, type BoardRow } from './quotamodel';

const FILTERS: BoardFilter[] = ['over', 'cases', 'all'];

/** gradeBadge shows a quota grade: 一级/二级/三级 or 超定额. */
export function gradeBadge(g: string | null | undefined): HTMLElement {
  return h('span', { class: `badge grade grade-${g ?? 'none'} ${gradeTone(g)}`, 'data-grade': g ?? '' }, g ? tOr(`grade.${g}`, g) : t('grade.none'));
}

/** caseStateBadge shows a case's state. */
export function caseStateBadge(state: string): HTMLElement {
  return h('span', { class: `state case-state case-${state}`, 'data-case-state': state }, tOr(`caseState.${state}`, state));
}

/** deadlineText says the deadline and how many days are left or past. */
function deadlineText(deadline: string | undefined, state: string): HTMLElement | string {
  if (!hasTime(deadline)) return '—';
  const left = daysLeft(deadline, new Date());
  const when = fmtTime(deadline, false).slice(0, 10);
  if (state === 'closed' || left === null) return when;
  return h('span', { class: left < 0 ? 'bad-text' : left <= 30 ? 'warning-text' : undefined }, when, ' ', h('span', { class: 'muted' }, left < 0 ? t('case.daysPast', { n: -left }) : t('case.daysLeft', { n: left })));
}

function perUnit(v: number | null | undefined, unit: string | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const u = displayUnit(unit);
  return `${fmtNum(v, Math.abs(v) >= 100 ? 1 : 2)}${u ? ' ' + u : ''}`;
}

/** BOARD_PRESETS are the periods the board offers; without one the server judges yesterday. */
const BOARD_PRESETS: PresetName[] = ['yesterday', 'month', 'lastMonth', 'year', 'lastYear'];

export async function quotaBoardPage(ctx: PageContext): Promise<void> {
  pageTitle(t('quotas.title'));
  const f = (FILTERS as string[]).includes(ctx.query.get('show') ?? '') ? (ctx.query.get('show') as BoardFilter) : 'all';
  const today = dateInShanghai();
  const pre = presets(today);
  const period = periodFrom(ctx.query, today, pre.yesterday);
  const [raw, names, cases] = await Promise.all([getJSON<unknown>(`/quota-board${qs(periodQuery(period))}`), settle(enterprises()), settle(getJSON<QuotaCase[]>('/quota-cases'))]);
  if (ctx.signal.aborted) return;
  const rows = sortBoard(boardRows(raw));
  const counts = boardCounts(raw);
  const local = summarise(rows);
  // The server counts live cases of every product, also those not on this period's board.
  const sum = {
    ...local,
    over: counts.over ?? local.over,
    open: counts.cases ? Object.entries(counts.cases).reduce((n, [s, c]) => (s === 'closed' ? n : n + c), 0) : local.open,
    overdue: counts.cases ? (counts.cases.overdue ?? 0) : local.overdue,
  };
  const shown = filterBoard(rows, f);
  const entName = (r: BoardRow) => {
    const e = names?.get(r.enterprise);
    return e ? pick(e.name, e.name_en) : pick(r.enterprise_name, r.enterprise_name_en) || r.enterprise;
  };
  const presetButtons = BOARD_PRESETS.map((n) =>
    h('button', { type: 'button', class: pre[n].from === period.from && pre[n].to === period.to ? 'on' : undefined, 'data-preset': n, onclick: () => setQuery(periodQuery(pre[n])) }, t(`eff.preset.${n}`)),
  );
  // The window the newest case was judged over (cases come newest first): its figures are the ones that opened it.
  const latest = (cases ?? []).find((c) => hasTime(c.period_from) && hasTime(c.period_to));
  if (latest) {
    const on = latest.period_from === period.from && latest.period_to === period.to;
    presetButtons.push(h('button', { type: 'button', class: on ? 'on' : undefined, 'data-preset': 'latest-case', onclick: () => setQuery({ from: latest.period_from, to: latest.period_to }) }, t('quotas.latestCase')));
  }

  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('quotas.title'), h('span', { class: 'subtitle' }, t('quotas.subtitle')))),
    h('p', { class: 'muted' }, t('quotas.lead')),
    h('p', { 'data-testid': 'board-period' }, t('quotas.period', { period: periodLabel(period, fmtTime) }), counts.noOutput?.length ? h('span', { class: 'muted' }, ' · ', t('quotas.noOutput', { n: counts.noOutput.length })) : null),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'board-summary' },
      kpi(t('quotas.rows'), fmtNum(sum.rows, 0), { hint: t('quotas.enterprises', { n: sum.enterprises }) }),
      kpi(t('quotas.over'), fmtNum(sum.over, 0), { tone: sum.over > 0 ? 'bad' : 'good', testid: 'count-over' }),
      kpi(t('quotas.open'), fmtNum(sum.open, 0), { tone: sum.open > 0 ? 'warn' : 'good', testid: 'count-open' }),
      kpi(t('quotas.overdue'), fmtNum(sum.overdue, 0), { tone: sum.overdue > 0 ? 'bad' : 'good', testid: 'count-overdue' }),
    ),
    h(
      'div',
      { class: 'filters' },
      h('div', { class: 'segmented', role: 'group', 'data-testid': 'board-presets' }, presetButtons),
      h(
        'div',
        { class: 'segmented', role: 'group' },
        (['all', 'over', 'cases'] as BoardFilter[]).map((x) =>
          h('button', { type: 'button', class: x === f ? 'on' : undefined, 'data-show': x, 'aria-pressed': x === f ? 'true' : 'false', onclick: () => setQuery({ show: x === 'all' ? undefined : x }) }, t(`quotas.show.${x}`)),
        ),
      ),
    ),
    h(
      'div',
      { 'data-testid': 'quota-board' },
      table<BoardRow>(
        [
          { head: t('quotas.enterprise'), cell: (r) => h('a', { href: `/enterprises/${encodeURIComponent(r.enterprise)}/efficiency${qs(periodQuery(period))}`, 'data-enterprise': r.enterprise }, entName(r)) },
          { head: t('quotas.product'), cell: (r) => r.product },
          {
            head: t('quotas.value'),
            cell: (r) => [
              h('span', { 'data-value': String(r.value ?? ''), title: r.note || undefined }, r.lower_bound && r.value !== null ? '≥ ' : '', perUnit(r.value, r.unit)),
              r.lower_bound ? h('div', { class: 'muted', title: r.note || undefined }, t('quotas.lowerBound')) : null,
              (r.value === null || r.value === undefined) && r.note ? h('div', { class: 'muted small-note' }, r.note) : null,
            ],
            num: true,
          },
          {
            head: t('quotas.limit'),
            cell: (r) => [
              h('span', { 'data-limit': String(r.limit ?? '') }, perUnit(r.limit, r.unit)),
              (r.quota_verified ?? r.verified) === false ? h('span', { class: 'badge warn', title: t('quota.unverified.hint') }, t('quota.unverified')) : null,
            ],
            num: true,
          },
          { head: t('quotas.usage'), cell: (r) => (usage(r) === null ? '—' : `${fmtNum(usage(r)! * 100, 0)}%`), num: true },
          { head: t('quotas.grade'), cell: (r) => gradeBadge(r.grade) },
          { head: t('target.basis'), cell: (r) => basisBadge(r.basis) },
          {
            head: t('quotas.case'),
            cell: (r) =>
              r.case
                ? h('a', { href: `/quota-cases/${encodeURIComponent(String(r.case.id))}`, 'data-case': String(r.case.id) }, caseStateBadge(r.case.state))
                : '—',
          },
          { head: t('case.deadline'), cell: (r) => (r.case ? deadlineText(r.case.deadline, r.case.state) : '—') },
        ],
        shown,
        { empty: t('quotas.empty'), rowAttrs: (r) => ({ 'data-row': `${r.enterprise}|${r.product}`, 'data-grade': r.grade ?? '' }) },
      ),
    ),
  );
}

function historyTable(c: QuotaCase): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'case-history' },
    table(
      [
        { head: t('case.history.at'), cell: (e) => fmtTime(e.at) },
        { head: t('case.history.from'), cell: (e) => (e.from ? caseStateBadge(e.from) : '—') },
        { head: t('case.history.to'), cell: (e) => caseStateBadge(e.to) },
        { head: t('case.history.actor'), cell: (e) => e.actor || '—' },
        { head: t('case.history.note'), cell: (e) => e.note || '' },
      ],
      historyInOrder(c.history),
      { empty: t('case.history.none'), rowAttrs: (e) => ({ 'data-event': e.to }) },
    ),
  );
}

export async function quotaCasePage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const c = await getJSON<QuotaCase>(`/quota-cases/${encodeURIComponent(id)}`);
  if (ctx.signal.aborted) return;
  const names = await settle(enterprises());
  const e = names?.get(c.enterprise);
  const entName = e ? pick(e.name, e.name_en) : c.enterprise_name || c.enterprise;
  pageTitle(`${t('case.title')} #${c.id}`);

  const note = h('input', { type: 'text', class: 'wide-input', 'data-testid': 'case-note', placeholder: t('case.note.placeholder'), 'aria-label': t('case.note') });
  const buttons = transitionsFor(c, currentMe()).map((to) => {
    const b = h(
      'button',
      { type: 'button', class: to === 'closed' ? 'secondary' : undefined, 'data-transition': to, title: to === 'closed' ? t('case.to.closed.hint', { n: c.evidence_months ?? 3 }) : undefined },
      t(`case.to.${to}` as 'case.to.plan_submitted'),
    );
    b.addEventListener('click', async () => {
      for (const x of buttons) x.disabled = true;
      try {
        await postJSON(`/quota-cases/${encodeURIComponent(String(c.id))}/transition`, { to, note: note.value.trim() });
        toast(t('case.moved', { state: tOr(`caseState.${to}`, to) }));
        setQuery({});
      } catch (err) {
        for (const x of buttons) x.disabled = false;
        toast(err instanceof ApiError && err.status === 403 ? t('error.403.title') : t('case.refused', { reason: (err as Error).message }), 'error');
      }
    });
    return b;
  });
  const year = hasTime(c.opened_at) ? Number(fmtTime(c.opened_at).slice(0, 4)) : Number(dateInShanghai().slice(0, 4));
  // The window that opened the case, [period_from, period_to): its balance and board show the figures behind it.
  const judged = hasTime(c.period_from) && hasTime(c.period_to) ? { from: c.period_from, to: c.period_to, exact: true } : null;
  const p = judged ?? yearPeriod(year);

  replace(
    ctx.root,
    breadcrumbs([{ label: t('quotas.title'), href: '/quotas' }, { label: `${t('case.title')} #${c.id}` }]),
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, `${t('case.title')} #${c.id}`, h('span', { class: 'subtitle' }, `${entName} · ${c.product}`)),
      h('div', { class: 'page-tools' }, caseStateBadge(c.state)),
    ),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'case-figures' },
      kpi(t('quotas.value'), perUnit(c.value, c.unit), { tone: c.grade === 'over' ? 'bad' : undefined }),
      kpi(t('quotas.limit'), perUnit(c.limit, c.unit)),
      kpi(t('quotas.grade'), c.grade ? tOr(`grade.${c.grade}`, c.grade) : t('grade.none'), { tone: c.grade === 'over' ? 'bad' : 'good' }),
      kpi(t('case.deadline'), hasTime(c.deadline) ? fmtTime(c.deadline, false).slice(0, 10) : '—', { tone: c.state === 'overdue' ? 'bad' : undefined }),
    ),
    card(
      t('case.details'),
      h(
        'dl',
        { class: 'facts', 'data-testid': 'case-facts' },
        h('dt', null, t('quotas.enterprise')),
        h('dd', null, h('a', { href: `/enterprises/${encodeURIComponent(c.enterprise)}/efficiency${qs(periodQuery(p))}`, 'data-testid': 'case-enterprise' }, entName)),
        h('dt', null, t('quotas.product')),
        h('dd', null, c.product),
        h('dt', null, t('case.state')),
        h('dd', null, caseStateBadge(c.state)),
        h('dt', null, t('case.owner')),
        h('dd', { 'data-testid': 'case-owner' }, c.owner || '—'),
        h('dt', null, t('case.opened')),
        h('dd', null, fmtTime(c.opened_at)),
        h('dt', null, t('case.deadline')),
        h('dd', { 'data-testid': 'case-deadline' }, deadlineText(c.deadline, c.state)),
        h('dt', null, t('case.period')),
        h('dd', null, judged ? [periodLabel(judged, fmtTime), ' ', h('a', { href: `/quotas${qs(periodQuery(judged))}`, 'data-testid': 'case-board' }, t('case.board'))] : '—'),
        h('dt', null, t('case.evidenceMonths')),
        h('dd', null, c.evidence_months ? t('case.months', { n: c.evidence_months }) : '—'),
        h('dt', null, t('case.closed')),
        h('dd', null, hasTime(c.closed_at) ? fmtTime(c.closed_at) : '—'),
      ),
      { id: 'case-card' },
    ),
    card(
      t('case.actions'),
      buttons.length
        ? h('div', { class: 'case-actions', 'data-testid': 'case-actions' }, h('label', null, t('case.note'), ' ', note), h('div', { class: 'buttons' }, buttons))
        : h('p', { class: 'muted', 'data-testid': 'case-actions' }, c.state === 'closed' ? t('case.closedByEvidence') : t('case.noActions')),
      { id: 'case-actions-card' },
    ),
    h('p', { class: 'muted' }, t('case.evidenceRule')),
    card(t('case.history'), historyTable(c), { wide: true, id: 'history-card' }),
    // The provider and technology the case is linked to (registries).
    caseLinkCard(Number(c.id), c.enterprise, e?.industry ?? '', ctx.signal),
  );
}
