import { describe, expect, it } from 'vitest';
import { checkManager, managerBody, servedText, standing, type ManagerStatus } from './registriesmodel';

const base: ManagerStatus = { enterprise: 'E', name: '厂', region: '430100', intake_year: 2025, required: false, flagged: false };

describe('registries view model', () => {
  it('states each enterprise against the 100,000 m³ rule', () => {
    expect(standing({ ...base, annual_intake_m3: 150000, required: true, flagged: true })).toBe('missing');
    expect(standing({ ...base, annual_intake_m3: 150000, required: true, manager: { name: '张', appointed: 'x', updated_by: 'a', updated_at: 'x' } })).toBe('ok');
    expect(standing({ ...base, annual_intake_m3: 5000 })).toBe('notRequired');
    expect(standing(base)).toBe('unknown');
  });

  it('names the field of a bad form', () => {
    const good = { name: '张水务', phone: '', email: '', certificate: '', appointed: '2026-11-01' };
    expect(checkManager(good)).toBeNull();
    expect(checkManager({ ...good, name: ' ' })?.field).toBe('name');
    expect(checkManager({ ...good, email: 'zs at example' })?.field).toBe('email');
    expect(checkManager({ ...good, appointed: '' })?.field).toBe('appointed');
    expect(managerBody({ ...good, phone: ' 0731-1 ' })).toEqual({ name: '张水务', appointed: '2026-11-01T00:00:00+08:00', phone: '0731-1' });
  });

  it('lists served enterprises newest first', () => {
    expect(servedText({ id: 'P', name: 'p', region: '430100', services: [], served: [{ enterprise: 'B', service: 'x', year: 2024 }, { enterprise: 'A', service: 'x', year: 2026 }] })).toEqual(['2026 A', '2024 B']);
  });
});
