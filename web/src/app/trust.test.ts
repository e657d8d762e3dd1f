import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { trustGroups, trustLabel, trustTone } from './format';
import { setLang } from './i18n';

describe('trust levels', () => {
  // setLang sets <html lang>; Node has no document.
  beforeEach(() => vi.stubGlobal('document', { documentElement: {} }));
  afterEach(() => {
    setLang('zh');
    vi.unstubAllGlobals();
  });
  it('are named Chinese first, English on request', () => {
    setLang('zh');
    expect(trustLabel('meter-signed')).toBe('表计签名');
    expect(trustLabel('gateway-signed')).toBe('网关签名');
    expect(trustLabel('mixed')).toBe('混合');
    expect(trustLabel('')).toBe('无计量表');
    expect(trustLabel(undefined)).toBe('无计量表');
    setLang('en');
    expect(trustLabel('meter-signed')).toBe('meter-signed');
    expect(trustLabel('gateway-signed')).toBe('gateway-signed');
    expect(trustLabel('mixed')).toBe('mixed');
  });
  it('an unknown level from a newer server is shown as sent', () => {
    expect(trustLabel('tester-signed')).toBe('tester-signed');
  });
  it('only meter-signed data get the "ok" tone', () => {
    expect(trustTone('meter-signed')).toBe('ok');
    expect(trustTone('gateway-signed')).toBe('warn');
    expect(trustTone('mixed')).toBe('warn');
    expect(trustTone(null)).toBe('warn');
  });
  it('groups the points of a balance by level', () => {
    expect(trustGroups(undefined)).toEqual([]);
    expect(
      trustGroups({
        W2: { level: 'gateway-signed' },
        IN: { level: 'meter-signed' },
        W1: { level: 'gateway-signed' },
        MIX: { level: 'mixed' },
        A: { level: 'meter-signed' },
      }),
    ).toEqual([
      ['meter-signed', ['A', 'IN']],
      ['gateway-signed', ['W1', 'W2']],
      ['mixed', ['MIX']],
    ]);
  });
});
