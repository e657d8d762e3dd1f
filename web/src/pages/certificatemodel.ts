// The water-rights certificates page's view model (水权证书), free of the
// DOM: the list and a certificate as the server sends them
// (GET /api/v1/certificates[/{id}]), each history entry described as who
// gave what to whom, the holdings as shares of the issued volume, the
// list's totals, who the signed-in user may act for, and the volume a
// form may ask for. Every figure comes from the server's fold of the
// ledger's certificate entries; the console computes none of its own
// beyond sums for display.

import type { Role } from '../app/api';

/** CertificateOp is one entry of a certificate's history. */
export interface CertificateOp {
  index: number;
  receipt?: string;
  op: 'issue' | 'transfer' | 'retire' | string;
  id: string;
  from?: string;
  to?: string;
  holder?: string;
  volume_m3: number;
  purpose?: string;
  actor?: string;
  time?: string;
}

/** Holding is what one holder holds of a certificate. */
export interface Holding {
  holder: string;
  volume_m3: number;
}

/** Certificate is a certificate as the server answers it. */
export interface Certificate {
  id: string;
  statement: string;
  statement_digest?: string;
  checkpoint_size?: number;
  enterprise: string;
  /** the statement's allowance, floor(savings − uncertainty), and what all its certificates took of it */
  statement_allowance_m3?: number;
  statement_issued_m3?: number;
  volume_m3: number;
  retired_m3: number;
  issued?: string;
  issued_index?: number;
  holdings: Holding[];
  history?: CertificateOp[];
}

/** HolderBalance is one holder's m³ across certificates. */
export interface HolderBalance {
  holder: string;
  held_m3: number;
  retired_m3: number;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** certificateOf reads one certificate, tolerating missing lists. */
export function certificateOf(raw: unknown): Certificate | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  if (typeof o.id !== 'string') return null;
  return {
    id: o.id,
    statement: str(o.statement),
    statement_digest: str(o.statement_digest) || undefined,
    checkpoint_size: typeof o.checkpoint_size === 'number' ? o.checkpoint_size : undefined,
    enterprise: str(o.enterprise),
    statement_allowance_m3: typeof o.statement_allowance_m3 === 'number' ? o.statement_allowance_m3 : undefined,
    statement_issued_m3: typeof o.statement_issued_m3 === 'number' ? o.statement_issued_m3 : undefined,
    volume_m3: num(o.volume_m3),
    retired_m3: num(o.retired_m3),
    issued: str(o.issued) || undefined,
    issued_index: typeof o.issued_index === 'number' ? o.issued_index : undefined,
    holdings: Array.isArray(o.holdings) ? (o.holdings as Holding[]).map((h) => ({ holder: str(h.holder), volume_m3: num(h.volume_m3) })) : [],
    history: Array.isArray(o.history) ? ([...o.history] as CertificateOp[]).sort((a, b) => num(a.index) - num(b.index)) : undefined,
  };
}

/** certificateList reads GET /certificates: the certificates and the holders' balances. */
export function certificateList(raw: unknown): { certificates: Certificate[]; balances: HolderBalance[] } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { certificates: [], balances: [] };
  const o = raw as { certificates?: unknown; balances?: unknown };
  const certificates = Array.isArray(o.certificates) ? o.certificates.map(certificateOf).filter((c): c is Certificate => c !== null) : [];
  const balances = Array.isArray(o.balances)
    ? (o.balances as HolderBalance[]).map((b) => ({ holder: str(b.holder), held_m3: num(b.held_m3), retired_m3: num(b.retired_m3) }))
    : [];
  balances.sort((a, b) => b.held_m3 - a.held_m3 || a.holder.localeCompare(b.holder));
  return { certificates, balances };
}

/** Totals are the list's sums: certificates, m³ issued, held and retired. */
export interface Totals {
  certificates: number;
  issued: number;
  held: number;
  retired: number;
}

/** totals sums the certificates shown. */
export function totals(list: Certificate[]): Totals {
  const t: Totals = { certificates: list.length, issued: 0, held: 0, retired: 0 };
  for (const c of list) {
    t.issued += c.volume_m3;
    t.retired += c.retired_m3;
    t.held += c.holdings.reduce((s, h) => s + h.volume_m3, 0);
  }
  return t;
}

/** Movement says what an entry did: who gave, who received (retired: nobody), how much. */
export interface Movement {
  kind: 'issue' | 'transfer' | 'retire' | 'unknown';
  from: string; // '' for an issue (the statement's saving)
  to: string; // '' for a retirement
  volume: number;
}

/** movement describes a history entry. */
export function movement(op: CertificateOp): Movement {
  switch (op.op) {
    case 'issue':
      return { kind: 'issue', from: '', to: op.holder ?? '', volume: op.volume_m3 };
    case 'transfer':
      return { kind: 'transfer', from: op.from ?? '', to: op.to ?? '', volume: op.volume_m3 };
    case 'retire':
      return { kind: 'retire', from: op.holder ?? '', to: '', volume: op.volume_m3 };
  }
  return { kind: 'unknown', from: '', to: '', volume: op.volume_m3 };
}

/** Share is one part of a certificate's volume: a holder's or the retired part. */
export interface Share {
  holder: string; // '' for the retired part
  volume: number;
  share: number; // of the issued volume, 0..1
}

/** shares splits the issued volume into holdings (largest first) and the retired part. */
export function shares(c: Certificate): Share[] {
  const total = c.volume_m3 > 0 ? c.volume_m3 : 1;
  const out = [...c.holdings]
    .sort((a, b) => b.volume_m3 - a.volume_m3 || a.holder.localeCompare(b.holder))
    .map((h) => ({ holder: h.holder, volume: h.volume_m3, share: h.volume_m3 / total }));
  if (c.retired_m3 > 0) out.push({ holder: '', volume: c.retired_m3, share: c.retired_m3 / total });
  return out;
}

/** statementUse is how much of its statement's allowance is issued (all certificates), or null when unknown. */
export function statementUse(c: Certificate): { issued: number; allowance: number; left: number } | null {
  if (c.statement_allowance_m3 === undefined || c.statement_issued_m3 === undefined) return null;
  return { issued: c.statement_issued_m3, allowance: c.statement_allowance_m3, left: Math.max(0, c.statement_allowance_m3 - c.statement_issued_m3) };
}

/** consistent reports whether holdings and retired volume add up to the issued volume (they always should). */
export function consistent(c: Certificate): boolean {
  return c.holdings.reduce((s, h) => s + h.volume_m3, 0) + c.retired_m3 === c.volume_m3;
}

/**
 * actsFor lists the holdings the user may transfer or retire: an admin acts
 * for every holder, an enterprise for its own holding; nobody else moves a
 * holding (the server decides; the console only hides what it would refuse).
 */
export function actsFor(role: Role | undefined, scope: string | undefined, c: Certificate): Holding[] {
  const held = c.holdings.filter((h) => h.volume_m3 > 0);
  if (role === 'admin') return held;
  if (role === 'enterprise' && scope) return held.filter((h) => h.holder === scope);
  return [];
}

/** mayIssue: admins and regulators issue certificates. */
export function mayIssue(role: Role | undefined): boolean {
  return role === 'admin' || role === 'regulator';
}

/**
 * volumeInput reads a form's volume: whole m³ from 1 to max (empty is
 * allowed when allowEmpty: the rest of an allowance). It returns the
 * number, or the message key of what is wrong.
 */
export function volumeInput(text: string, max: number, allowEmpty = false): { volume?: number; error?: string } {
  const s = text.trim();
  if (s === '') return allowEmpty ? { volume: 0 } : { error: 'cert.form.volumeRequired' };
  if (!/^[0-9]+$/.test(s)) return { error: 'cert.form.volumeWhole' };
  const v = Number(s);
  if (v < 1 || !Number.isSafeInteger(v)) return { error: 'cert.form.volumeWhole' };
  if (v > max) return { error: 'cert.form.volumeOver' };
  return { volume: v };
}
