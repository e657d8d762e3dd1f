// The view model of the registries page: the water-manager form's checks
// (the server's rules, so a mistake is named before the request), the
// standing of an enterprise, and what a provider's served list shows.

/** ManagerStatus is one row of GET /water-managers. */
export interface ManagerStatus {
  enterprise: string;
  name: string;
  park?: string;
  region: string;
  above_scale?: boolean;
  manager?: { name: string; phone?: string; email?: string; certificate?: string; appointed: string; updated_by: string; updated_at: string };
  intake_year: number;
  annual_intake_m3?: number;
  basis?: string;
  required: boolean;
  flagged: boolean;
}

/** Standing is how an enterprise stands with the water-manager rule. */
export type Standing = 'missing' | 'ok' | 'notRequired' | 'unknown';

/** standing of a row: missing (required, none), ok (one appointed), notRequired, unknown (no intake figure). */
export function standing(m: ManagerStatus): Standing {
  if (m.flagged) return 'missing';
  if (m.manager) return 'ok';
  if (m.annual_intake_m3 === undefined || m.annual_intake_m3 === null) return 'unknown';
  return 'notRequired';
}

/** ManagerForm is the water-manager form's fields. */
export interface ManagerForm {
  name: string;
  phone: string;
  email: string;
  certificate: string;
  appointed: string; // YYYY-MM-DD
}

/**
 * checkManager returns the message key of the first problem of a form, and
 * the field it concerns, or null when the form may be sent.
 */
export function checkManager(f: ManagerForm): { field: keyof ManagerForm; key: 'reg.form.nameRequired' | 'reg.form.badEmail' | 'reg.form.badDate' } | null {
  if (!f.name.trim()) return { field: 'name', key: 'reg.form.nameRequired' };
  if (f.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(f.email)) return { field: 'email', key: 'reg.form.badEmail' };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.appointed)) return { field: 'appointed', key: 'reg.form.badDate' };
  return null;
}

/** managerBody is the PUT body of a checked form: the appointment at local midnight (UTC+8), empty fields left out. */
export function managerBody(f: ManagerForm): Record<string, string> {
  const out: Record<string, string> = { name: f.name.trim(), appointed: `${f.appointed}T00:00:00+08:00` };
  for (const k of ['phone', 'email', 'certificate'] as const) if (f[k].trim()) out[k] = f[k].trim();
  return out;
}

/** Provider is one row of GET /service-providers. */
export interface Provider {
  id: string;
  name: string;
  name_en?: string;
  region: string;
  services: string[];
  qualifications?: string[];
  contact?: string;
  served?: { enterprise: string; service: string; year: number }[];
  served_elsewhere?: number;
}

/** servedText lists the enterprises a provider served (year, enterprise), newest first. */
export function servedText(p: Provider): string[] {
  return [...(p.served ?? [])].sort((a, b) => b.year - a.year || a.enterprise.localeCompare(b.enterprise)).map((s) => `${s.year} ${s.enterprise}`);
}
