import { describe, expect, it } from 'vitest';
import { answerPayload, canAnswer, outcomeTone, type EvalItem } from './evaluationmodel';

const items: EvalItem[] = [
  { id: 'metering', status: 'pass', basis: 'metered', verified: false },
  { id: 'within_plan', status: 'pass', basis: 'declared', verified: false, answer: { id: 1, enterprise: 'E', requirement: 'within_plan', met: true, note: '台账', answered_by: 'ent-e', answered_at: '2026-12-01T00:00:00Z' } },
  { id: 'no_obsolete', status: 'unknown', basis: 'declared', verified: false },
  { id: 'legal_intake', status: 'unknown', basis: 'declared', verified: false },
];

describe('evaluation answers', () => {
  it('lets admin, regulators and the enterprise itself answer', () => {
    expect(canAnswer('admin', undefined, 'E')).toBe(true);
    expect(canAnswer('regulator', '430100', 'E')).toBe(true);
    expect(canAnswer('enterprise', 'E', 'E')).toBe(true);
    expect(canAnswer('enterprise', 'S', 'E')).toBe(false);
    expect(canAnswer('park', 'PK', 'E')).toBe(false);
    expect(canAnswer('auditor', undefined, 'E')).toBe(false);
  });

  it('sends the changed declared rows only', () => {
    const body = answerPayload(items, {
      metering: { met: false, note: '' }, // metered: never sent
      within_plan: { met: true, note: '台账 ' }, // unchanged after trimming
      no_obsolete: { met: false, note: ' 仍有旧设备 ' },
      legal_intake: { met: null, note: 'x' }, // not chosen
    });
    expect(body).toEqual({ answers: [{ requirement: 'no_obsolete', met: false, note: '仍有旧设备' }] });
    expect(answerPayload(items, { within_plan: { met: false, note: '台账' } }).answers).toEqual([{ requirement: 'within_plan', met: false, note: '台账' }]);
    expect(answerPayload(items, {}).answers).toEqual([]);
  });

  it('colours outcomes', () => {
    expect(outcomeTone('passed')).toBe('good');
    expect(outcomeTone('failed')).toBe('bad');
    expect(outcomeTone('incomplete')).toBe('warn');
  });
});
