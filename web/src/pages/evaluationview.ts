// The water-saving enterprise evaluation (节水型企业评价, GB/T 7119) on an
// enterprise's indicator page: the outcome, each basic requirement with how
// it is decided, and for the declared ones the latest answer with who gave
// it and when, and a form for the enterprise (or a regulator) to answer.

import { ApiError, getJSON, postJSON, qs } from '../app/api';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { currentMe } from '../app/session';
import { card, errorPanel, kpi, loading, table, toast } from '../app/ui';
import { answerPayload, canAnswer, outcomeTone, type Choice, type EvalItem, type Evaluation } from './evaluationmodel';

function statusBadgeOf(s: string): HTMLElement {
  const tone = s === 'pass' ? 'good' : s === 'fail' ? 'bad' : 'warn';
  return h('span', { class: `badge ${tone}`, 'data-eval-status': s }, tOr(`evalans.status.${s}`, s));
}

function valueText(it: EvalItem): string {
  if (it.value === undefined || it.value === null) return it.note ?? '';
  const lim = it.limit !== undefined && it.limit !== null ? ` ${it.op ?? ''} ${fmtNum(it.limit, 3)}` : '';
  return `${fmtNum(it.value, 3)}${lim}`;
}

/** evaluationCard loads and shows the evaluation of enterprise id for year. */
export function evaluationCard(id: string, year: number, signal: AbortSignal): HTMLElement {
  const body = h('div', null, loading());
  const box = card(t('evalans.title', { year }), body, { wide: true, id: 'eval-card' });
  const load = async (): Promise<void> => {
    let ev: Evaluation;
    try {
      ev = await getJSON<Evaluation>(`/evaluation/${encodeURIComponent(id)}${qs({ year })}`);
    } catch (e) {
      if (!signal.aborted) replace(body, errorPanel(e, { compact: true }));
      return;
    }
    if (signal.aborted) return;
    const me = currentMe();
    const editable = canAnswer(me?.role, me?.scope, id);
    const choices: Record<string, Choice> = {};
    const reqs = ev.evaluation.requirements;
    const answerCell = (it: EvalItem): HTMLElement | string => {
      if (it.basis !== 'declared') return valueText(it);
      const stored = it.answer
        ? h('div', { class: 'muted', 'data-answer-by': it.answer.answered_by }, t('evalans.by', { who: it.answer.answered_by, when: fmtTime(it.answer.answered_at, false) }), it.answer.note ? ` · ${it.answer.note}` : '')
        : null;
      if (!editable) return stored ?? t('evalans.status.unknown');
      choices[it.id] = { met: it.answer ? it.answer.met : null, note: it.answer?.note ?? '' };
      const sel = h(
        'select',
        {
          'data-answer': it.id,
          'aria-label': pick(it.name_zh ?? it.id, it.name_en),
          onchange: (e: Event) => {
            const v = (e.target as HTMLSelectElement).value;
            choices[it.id].met = v === '' ? null : v === 'yes';
          },
        },
        h('option', { value: '', selected: !it.answer }, t('evalans.choose')),
        h('option', { value: 'yes', selected: it.answer?.met === true }, t('evalans.met')),
        h('option', { value: 'no', selected: it.answer?.met === false }, t('evalans.notMet')),
      );
      const note = h('input', {
        type: 'text',
        value: it.answer?.note ?? '',
        maxlength: '500',
        placeholder: t('evalans.note'),
        'data-answer-note': it.id,
        oninput: (e: Event) => {
          choices[it.id].note = (e.target as HTMLInputElement).value;
        },
      });
      return h('div', { class: 'answer-edit' }, sel, ' ', note, stored);
    };
    const save = editable
      ? h(
          'button',
          {
            type: 'button',
            'data-testid': 'save-answers',
            onclick: async () => {
              const payload = answerPayload(reqs, choices);
              if (!payload.answers.length) {
                toast(t('evalans.nothing'));
                return;
              }
              try {
                await postJSON(`/enterprises/${encodeURIComponent(id)}/evaluation-answers`, payload);
                toast(t('evalans.saved', { n: payload.answers.length }));
                await load();
              } catch (e) {
                toast(e instanceof ApiError ? e.message : String(e), 'error');
              }
            },
          },
          t('evalans.save'),
        )
      : null;
    replace(
      body,
      h(
        'div',
        { class: 'kpis' },
        kpi(t('evalans.requirement'), tOr(`evalans.outcome.${ev.evaluation.outcome}`, ev.evaluation.outcome), { tone: outcomeTone(ev.evaluation.outcome), testid: 'eval-outcome' }),
      ),
      ev.note ? h('p', { class: 'muted' }, ev.note) : null,
      ev.evaluation.unverified ? h('p', { class: 'muted' }, t('evalans.unverified')) : null,
      table(
        [
          { head: t('evalans.requirement'), cell: (it: EvalItem) => pick(it.name_zh ?? it.id, it.name_en) },
          { head: t('evalans.basis'), cell: (it: EvalItem) => tOr(`evalans.basis.${it.basis}`, it.basis ?? '') },
          { head: t('evalans.status'), cell: (it: EvalItem) => statusBadgeOf(it.status) },
          { head: t('evalans.answer'), cell: answerCell },
        ],
        reqs,
        { rowAttrs: (it) => ({ 'data-requirement': it.id }) },
      ),
      save,
    );
  };
  void load();
  return box;
}
