// The view model of the water-saving enterprise evaluation (GB/T 7119) on
// an enterprise's indicator page: which requirements are declared, who may
// answer them, and the answers a form sends. Pure, so that tests can check it.

import type { Role } from '../app/api';

/** EvalAnswer is a stored answer to a declared requirement (evaluate.Answer). */
export interface EvalAnswer {
  id: number;
  enterprise: string;
  requirement: string;
  met: boolean;
  note?: string;
  answered_by: string;
  answered_at: string;
}

/** EvalItem is one requirement, indicator or product of an evaluation. */
export interface EvalItem {
  id: string;
  name_zh?: string;
  name_en?: string;
  status: 'pass' | 'fail' | 'unknown';
  value?: number;
  limit?: number;
  op?: string;
  basis?: string;
  note?: string;
  verified: boolean;
  source?: string;
  answer?: EvalAnswer;
}

/** Evaluation is GET /evaluation/{enterprise}?year=Y. */
export interface Evaluation {
  enterprise: string;
  name: string;
  industry: string;
  year: number;
  metered: boolean;
  note?: string;
  evaluation: {
    outcome: 'passed' | 'failed' | 'incomplete';
    passed: boolean;
    requirements: EvalItem[];
    indicators: EvalItem[];
    products: EvalItem[];
    data_passed: boolean;
    unverified: boolean;
  };
}

/** canAnswer reports whether a caller may answer an enterprise's declared requirements (as the API allows). */
export function canAnswer(role: Role | undefined, scope: string | undefined, enterprise: string): boolean {
  switch (role) {
    case 'admin':
    case 'regulator':
      return true;
    case 'enterprise':
      return scope === enterprise;
    default:
      return false;
  }
}

/** Choice is a form row's state: met, not met, or not chosen (null). */
export interface Choice {
  met: boolean | null;
  note: string;
}

/**
 * answerPayload is the body of POST /enterprises/{id}/evaluation-answers:
 * the rows whose choice was made and differs from the stored answer (a
 * changed note counts), notes trimmed. Empty when nothing changed.
 */
export function answerPayload(items: EvalItem[], choices: Record<string, Choice>): { answers: { requirement: string; met: boolean; note?: string }[] } {
  const answers: { requirement: string; met: boolean; note?: string }[] = [];
  for (const it of items) {
    const c = choices[it.id];
    if (!c || c.met === null || it.basis !== 'declared') continue;
    const note = c.note.trim();
    if (it.answer && it.answer.met === c.met && (it.answer.note ?? '') === note) continue;
    answers.push(note ? { requirement: it.id, met: c.met, note } : { requirement: it.id, met: c.met });
  }
  return { answers };
}

/** outcomeTone colours an outcome. */
export function outcomeTone(outcome: string): 'good' | 'warn' | 'bad' {
  return outcome === 'passed' ? 'good' : outcome === 'failed' ? 'bad' : 'warn';
}
