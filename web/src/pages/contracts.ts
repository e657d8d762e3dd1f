// Contract water saving (合同节水管理): the list of contracts in the
// caller's scope, and a contract's page with its baseline fit chart
// (metered against modelled intake per period), its statements with the
// savings ± uncertainty, whether each is verifiable, the checkpoint it was
// read at, and the PDF/XLSX downloads.

import './mgmt.css';
import { ApiError, getJSON, postJSON, qs } from '../app/api';
import { enterprises, settle } from '../app/cache';
import { COLORS, makeChart } from '../app/charts';
import { h, replace } from '../app/dom';
import { fmtNum } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { rerender, type PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { breadcrumbs, card, kpi, pageTitle, table, toast } from '../app/ui';
import { reportLink } from './reportlink';
import { fitSeries, fitWithin, issuable, periodRows, savingsText, spanText, totals, verifiable, type Contract, type PeriodRow, type Statement, type StatementRecord } from './mvmodel';

function optionText(c: Contract): string {
  return tOr(`mv.option.${c.option}`, c.option) + (c.option === 'B' && c.points?.length ? `: ${c.points.join(', ')}` : '');
}

function verifiableBadge(s: Statement): HTMLElement {
  return verifiable(s)
    ? h('span', { class: 'badge ok', 'data-verifiable': 'yes' }, t('mv.verifiable.yes', { n: fmtNum(issuable(s), 0) }))
    : h('span', { class: 'badge warn', 'data-verifiable': 'no' }, t('mv.verifiable.no'));
}

/** contractsPage lists the contracts the caller may see. */
export async function contractsPage(ctx: PageContext): Promise<void> {
  pageTitle(t('mv.title'));
  const [list, names] = await Promise.all([getJSON<Contract[]>('/contracts'), settle(enterprises())]);
  if (ctx.signal.aborted) return;
  const entName = (id: string) => {
    const e = names?.get(id);
    return e ? pick(e.name, e.name_en) : id;
  };
  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('mv.title'))),
    h('p', { class: 'muted' }, t('mv.lead')),
    h(
      'div',
      { 'data-testid': 'contracts' },
      table<Contract>(
        [
          { head: t('mv.contract'), cell: (c) => h('a', { href: `/contracts/${encodeURIComponent(c.id)}`, 'data-contract': c.id }, `${c.id} ${c.name}`) },
          { head: t('mv.enterprise'), cell: (c) => entName(c.enterprise) },
          { head: t('mv.serviceCompany'), cell: (c) => c.service_company },
          { head: t('mv.option'), cell: (c) => optionText(c) },
          { head: t('mv.baseline'), cell: (c) => `${spanText(c.baseline)} (${tOr(`mv.granularity.${c.granularity}`, c.granularity)})` },
          { head: t('mv.reporting'), cell: (c) => String(c.reporting.length), num: true },
          { head: t('mv.status'), cell: (c) => tOr(`mv.status.${c.status}`, c.status) },
        ],
        list ?? [],
        { empty: t('mv.none'), rowAttrs: (c) => ({ 'data-contract-row': c.id }) },
      ),
    ),
  );
}

/** contractPage shows one contract, its fit chart and statements. */
export async function contractPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  pageTitle(`${t('mv.contract')} ${id}`);
  const view = await getJSON<{ contract: Contract; statements: Statement[] }>(`/contracts/${encodeURIComponent(id)}`);
  if (ctx.signal.aborted) return;
  const c = view.contract;
  const statements = view.statements ?? [];
  const rows = periodRows(c, statements, new Date());
  // The chart shows the latest statement's fit, or a preview of the first period.
  const latest = statements[statements.length - 1];
  let rec: StatementRecord | undefined;
  let others: StatementRecord[] = [];
  let fitNote = '';
  let fitError: unknown;
  try {
    if (latest) {
      // The latest statement's fit, with every statement's reporting periods.
      const recs = await Promise.all(statements.map((s) => getJSON<StatementRecord>(`/mv/statements/${encodeURIComponent(s.id)}`)));
      rec = recs[recs.length - 1];
      others = recs.slice(0, -1);
      fitNote = t('mv.fit.statement', { id: latest.id });
    } else {
      rec = await getJSON<StatementRecord>(`/contracts/${encodeURIComponent(id)}/preview${qs({ period: 1 })}`);
      fitNote = t('mv.fit.preview', { n: 1 });
    }
  } catch (e) {
    fitError = e;
  }
  if (ctx.signal.aborted) return;
  const sum = totals(statements);
  const me = currentMe();
  const canWrite = me?.role === 'admin' || me?.role === 'regulator' || me?.role === 'enterprise';

  const chartEl = h('div', { class: 'chart', 'data-testid': 'fit-chart' });
  const fitBody = rec
    ? h('div', null, h('p', { class: 'muted' }, fitNote), chartEl, fitStats(rec))
    : h('p', { class: 'muted', 'data-testid': 'fit-none' }, t('mv.fit.none', { reason: fitError instanceof ApiError ? fitError.message : String(fitError ?? '') }));

  replace(
    ctx.root,
    breadcrumbs([{ label: t('mv.title'), href: '/contracts' }, { label: `${c.id} ${c.name}` }]),
    h('div', { class: 'page-head' }, h('h1', null, `${c.name}`, h('span', { class: 'subtitle' }, c.id))),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'contract-summary' },
      kpi(t('mv.enterprise'), c.enterprise),
      kpi(t('mv.serviceCompany'), c.service_company, { hint: `${t('mv.share')} ${fmtNum(c.service_company_share * 100, 0)}%` }),
      kpi(t('mv.savings'), `${fmtNum(sum.savings, 0)} m³`, { hint: `${sum.verifiable}/${statements.length} ${t('mv.verifiable')}`, testid: 'total-savings' }),
      kpi(t('mv.verifiable'), `${fmtNum(sum.issuable, 0)} m³`, { tone: sum.issuable > 0 ? 'good' : undefined, testid: 'total-issuable' }),
    ),
    card(
      t('mv.contract'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, t('mv.option')),
        h('dd', null, optionText(c)),
        h('dt', null, t('mv.baseline')),
        h('dd', null, `${spanText(c.baseline)} (${tOr(`mv.granularity.${c.granularity}`, c.granularity)})`),
        h('dt', null, t('mv.drivers')),
        h('dd', null, c.drivers.map((d) => (d.product ? `${d.name} (${d.product})` : `${d.name} (${d.kind})`)).join(', ')),
        h('dt', null, t('mv.status')),
        h('dd', null, tOr(`mv.status.${c.status}`, c.status)),
      ),
    ),
    card(t('mv.fit'), fitBody, { wide: true, id: 'fit' }),
    card(t('mv.statements'), h('div', { 'data-testid': 'statements' }, statementsTable(c, rows, canWrite)), { wide: true }),
  );
  if (rec) drawFit(chartEl, rec, others, ctx.onCleanup);
}

function fitStats(r: StatementRecord): HTMLElement {
  const w = fitWithin(r);
  const coef = Object.entries(r.model ?? {})
    .map(([k, v]) => `${k} = ${fmtNum(v, 4)}`)
    .join(', ');
  return h(
    'p',
    { class: 'muted', 'data-testid': 'fit-stats' },
    `${t('mv.stats')}: CV(RMSE) ${fmtNum(r.cv_rmse * 100, 2)}% (≤ ${fmtNum(r.limit_cv_rmse * 100, 0)}%) `,
    h('span', { class: w.cv ? 'good-text' : 'bad-text' }, w.cv ? '✓' : '✗'),
    ` · NMBE ${fmtNum(r.nmbe * 100, 3)}% (±${fmtNum(r.limit_nmbe * 100, 0)}%) `,
    h('span', { class: w.nmbe ? 'good-text' : 'bad-text' }, w.nmbe ? '✓' : '✗'),
    ` · R² ${fmtNum(r.r2, 3)} · ${coef}`,
  );
}

function drawFit(el: HTMLElement, rec: StatementRecord, others: StatementRecord[], onCleanup: (fn: () => void) => void): void {
  const s = fitSeries(rec, others);
  makeChart(
    el,
    {
      tooltip: { trigger: 'axis', valueFormatter: (v: number | null) => (v === null || v === undefined ? '—' : `${fmtNum(v, 1)} m³`) },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 48 },
      xAxis: { type: 'category', data: s.labels },
      yAxis: { type: 'value', name: 'm³', scale: true },
      dataZoom: s.labels.length > 60 ? [{ type: 'slider', bottom: 4 }] : [],
      series: [
        { name: t('mv.series.metered'), type: 'line', data: s.metered, symbolSize: 5, itemStyle: { color: COLORS.intake } },
        {
          name: t('mv.series.modelled'),
          type: 'line',
          data: s.modelled,
          symbolSize: 4,
          lineStyle: { type: 'dashed' },
          itemStyle: { color: COLORS.grey },
          markLine: s.split >= 0 ? { symbol: 'none', silent: true, data: [{ xAxis: s.split }], label: { formatter: t('mv.reporting') } } : undefined,
        },
        { name: t('mv.series.reporting'), type: 'line', data: s.reporting, symbolSize: 5, itemStyle: { color: COLORS.reuse } },
      ],
    },
    onCleanup,
  );
}

function statementsTable(c: Contract, rows: PeriodRow[], canWrite: boolean): HTMLElement {
  return table<PeriodRow>(
    [
      { head: t('mv.period'), cell: (r) => `${r.n}: ${spanText(r.span)}` },
      {
        head: t('mv.savingsPm'),
        cell: (r) => (r.statement ? h('span', { 'data-savings': String(r.statement.savings_m3) }, savingsText(r.statement, fmtNum)) : h('span', { class: 'muted' }, t('mv.noStatement'))),
      },
      { head: t('mv.adjusted'), cell: (r) => (r.statement ? `${fmtNum(r.statement.adjusted_baseline_m3, 1)} m³` : '—'), num: true },
      { head: t('mv.reportingM3'), cell: (r) => (r.statement ? `${fmtNum(r.statement.reporting_m3, 1)} m³` : '—'), num: true },
      { head: t('mv.g14'), cell: (r) => (r.statement ? (r.statement.meets_guideline14 ? t('mv.g14.yes') : t('mv.g14.no')) : '—') },
      { head: t('mv.verifiable'), cell: (r) => (r.statement ? verifiableBadge(r.statement) : '—') },
      {
        head: t('mv.checkpoint'),
        cell: (r) => (r.statement ? h('span', { title: r.statement.checkpoint_root, class: 'mono' }, `${r.statement.checkpoint_size} · ${r.statement.checkpoint_root.slice(0, 12)}…`) : '—'),
      },
      {
        head: t('mv.downloads'),
        cell: (r) => {
          if (r.statement) {
            const sid = r.statement.id;
            return h(
              'span',
              { class: 'downloads' },
              reportLink(`/mv/statements/${encodeURIComponent(sid)}/report.pdf`, `mv-statement-${sid}.pdf`, 'PDF', `statement-pdf-${r.n}`),
              ' ',
              reportLink(`/mv/statements/${encodeURIComponent(sid)}/report.xlsx`, `mv-statement-${sid}.xlsx`, 'XLSX', `statement-xlsx-${r.n}`),
              h('div', { class: 'muted small-note', title: t('mv.verifyHint') }, `shuixiao verify savings URL --log-key log.vkey --statement ${sid}`),
            );
          }
          if (!canWrite || !r.over) return '—';
          return h(
            'button',
            {
              type: 'button',
              'data-issue': String(r.n),
              onclick: async () => {
                try {
                  const rec = await postJSON<StatementRecord>(`/contracts/${encodeURIComponent(c.id)}/statements`, { period: r.n });
                  toast(t('mv.issued', { id: rec?.statement.id ?? '' }));
                  rerender();
                } catch (e) {
                  toast((e as Error).message, 'error');
                }
              },
            },
            t('mv.issue', { n: r.n }),
          );
        },
      },
    ],
    rows,
    { rowAttrs: (r) => ({ 'data-period': String(r.n), 'data-statement': r.statement?.id ?? '' }) },
  );
}

