// Offline verification of a reading's receipt (c2sp.org/tlog-proof@v1), the
// same checks as `shuixiao verify proof`, in the browser:
//
//  1. the receipt parses and carries the entry (the signed reading) in its extra line;
//  2. the checkpoint is signed by the log key, and its origin is the key's name;
//  3. the RFC 6962 leaf hash of the entry, folded with the inclusion path,
//     gives the checkpoint's root;
//  4. the entry is signed by the meter's registered key (for a key entry: by the log);
//  5. optionally, at least k of the given witnesses cosigned the checkpoint;
//  6. optionally, the entry is the reading the user clicked (meter, seq,
//     index, and the stored values equal the signed ones).
//
// All functions are pure: keys come in as arguments or through a lookup.

import { fromUTF8, equalBytes } from './bytes';
import { leafHash, rootFromInclusionProof } from './merkle';
import {
  parseCheckpoint,
  parseSignedNote,
  parseVerifierKey,
  signaturesBy,
  verifyCosignature,
  verifyNoteSignature,
  type Checkpoint,
  type Cosignature,
  type SignedNote,
  type VerifierKey,
} from './note';
import { KEY_HEADER, READING_HEADER, meterKeyName, parseKeyEntry, parseReading, type Reading } from './reading';
import { describePolicy, keyIdent, quorumMet, type WitnessPolicy } from './policy';
import { parseTLogProof, type TLogProof } from './tlogproof';

/** CheckName names one step of the verification. */
export type CheckName = 'format' | 'log-signature' | 'inclusion' | 'entry-signature' | 'witnesses' | 'match';

/** Reason explains a check's outcome; `code` is translated by the UI. */
export interface Reason {
  code: string;
  params?: Record<string, string | number>;
}

/** Check is the outcome of one step. */
export interface Check {
  name: CheckName;
  status: 'pass' | 'fail' | 'skip';
  reason: Reason;
}

/** ReceiptResult is the outcome of verifyReceipt. `ok` is true only if no check failed. */
export interface ReceiptResult {
  ok: boolean;
  checks: Check[];
  index?: bigint;
  checkpoint?: Checkpoint;
  reading?: Reading;
  entryKind?: 'reading' | 'key';
  cosignatures: Cosignature[];
}

/** Expectation describes the reading the user asked about. */
export interface Expectation {
  meter?: string;
  seq?: number | bigint;
  index?: number | bigint;
  /** values as stored by the server; each must equal the signed value. */
  values?: Record<string, number>;
}

/** ReceiptInputs are the receipt and the keys it is checked against. */
export interface ReceiptInputs {
  receipt: Uint8Array | string;
  /** the log's note verifier key (GET /api/v1/ledger/key) */
  logKey: string;
  /** looks up a meter's registered verifier key (GET /api/v1/meters/{id} → key) */
  meterKey?: (meter: string) => Promise<string | null | undefined> | string | null | undefined;
  /** the witness policy the checkpoint must satisfy (see policy.ts) */
  witnesses?: WitnessPolicy;
  expect?: Expectation;
  /** the verifier's clock, for cosignature timestamps; default now */
  now?: Date;
}

/**
 * MAX_COSIGNATURE_SKEW_MS is how far in the future a cosignature may be dated
 * and still count (tlog-cosignature lets verifiers reject future timestamps;
 * the Go verifier allows the same 10 minutes).
 */
export const MAX_COSIGNATURE_SKEW_MS = 10 * 60 * 1000;

function fail(checks: Check[], name: CheckName, code: string, params?: Reason['params']): ReceiptResult {
  checks.push({ name, status: 'fail', reason: { code, params } });
  return { ok: false, checks, cosignatures: [] };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** verifyReceipt runs every check it can and reports each one. */
export async function verifyReceipt(inp: ReceiptInputs): Promise<ReceiptResult> {
  const checks: Check[] = [];

  // 1. Format.
  let proof: TLogProof;
  let cpNote: SignedNote;
  let cp: Checkpoint;
  try {
    proof = parseTLogProof(inp.receipt);
  } catch (e) {
    return fail(checks, 'format', 'malformed-receipt', { detail: message(e) });
  }
  try {
    cpNote = parseSignedNote(proof.checkpoint);
    cp = parseCheckpoint(cpNote.text);
  } catch (e) {
    return fail(checks, 'format', 'malformed-checkpoint', { detail: message(e) });
  }
  if (!proof.extra) return fail(checks, 'format', 'no-entry');
  let entryNote: SignedNote;
  try {
    entryNote = parseSignedNote(proof.extra);
  } catch (e) {
    return fail(checks, 'format', 'malformed-entry', { detail: message(e) });
  }
  checks.push({ name: 'format', status: 'pass', reason: { code: 'format-ok', params: { index: proof.index.toString() } } });
  const result: ReceiptResult = { ok: false, checks, index: proof.index, checkpoint: cp, cosignatures: [] };

  // 2. Log signature and origin.
  let logKey: VerifierKey;
  try {
    logKey = parseVerifierKey(inp.logKey);
  } catch (e) {
    return fail(checks, 'log-signature', 'bad-log-key', { detail: message(e) });
  }
  if (signaturesBy(cpNote, logKey).length === 0) {
    checks.push({ name: 'log-signature', status: 'fail', reason: { code: 'no-log-signature', params: { key: logKey.name } } });
  } else if (!verifyNoteSignature(cpNote, logKey)) {
    checks.push({ name: 'log-signature', status: 'fail', reason: { code: 'bad-log-signature', params: { key: logKey.name } } });
  } else if (cp.origin !== logKey.name) {
    checks.push({ name: 'log-signature', status: 'fail', reason: { code: 'origin-mismatch', params: { origin: cp.origin, key: logKey.name } } });
  } else {
    checks.push({
      name: 'log-signature',
      status: 'pass',
      reason: { code: 'log-signature-ok', params: { origin: cp.origin, size: cp.size.toString() } },
    });
  }

  // 3. Inclusion of the entry at the index.
  try {
    const root = rootFromInclusionProof(proof.index, cp.size, leafHash(proof.extra), proof.hashes);
    if (equalBytes(root, cp.root)) {
      checks.push({
        name: 'inclusion',
        status: 'pass',
        reason: { code: 'inclusion-ok', params: { index: proof.index.toString(), size: cp.size.toString() } },
      });
    } else {
      checks.push({ name: 'inclusion', status: 'fail', reason: { code: 'root-mismatch' } });
    }
  } catch (e) {
    checks.push({ name: 'inclusion', status: 'fail', reason: { code: 'bad-proof', params: { detail: message(e) } } });
  }

  // 4. The entry's own signature.
  const entryText = entryNote.text;
  if (entryText.startsWith(READING_HEADER + '\n')) {
    result.entryKind = 'reading';
    let reading: Reading | undefined;
    try {
      reading = parseReading(entryText);
      result.reading = reading;
    } catch (e) {
      checks.push({ name: 'entry-signature', status: 'fail', reason: { code: 'not-a-reading', params: { detail: message(e) } } });
    }
    if (reading) checks.push(await checkMeterSignature(entryNote, reading, inp.meterKey));
  } else if (entryText.startsWith(KEY_HEADER + '\n')) {
    result.entryKind = 'key';
    try {
      const k = parseKeyEntry(entryText);
      const ok = verifyNoteSignature(entryNote, logKey);
      checks.push({
        name: 'entry-signature',
        status: ok ? 'pass' : 'fail',
        reason: { code: ok ? 'key-entry-ok' : 'bad-key-entry-signature', params: { meter: k.meter, action: k.action } },
      });
    } catch (e) {
      checks.push({ name: 'entry-signature', status: 'fail', reason: { code: 'not-a-reading', params: { detail: message(e) } } });
    }
  } else {
    checks.push({ name: 'entry-signature', status: 'fail', reason: { code: 'unknown-entry' } });
  }

  // 5. Witness cosignatures.
  if (inp.witnesses?.quorum) {
    const policy = inp.witnesses;
    const signed = new Set<string>();
    const now = (inp.now ?? new Date()).getTime();
    for (const w of policy.witnesses) {
      const id = keyIdent(w.key);
      if (signed.has(id)) continue;
      const c = verifyCosignature(cpNote, w.key);
      if (c && c.time.getTime() <= now + MAX_COSIGNATURE_SKEW_MS) {
        signed.add(id);
        result.cosignatures.push(c);
      }
    }
    const met = quorumMet(policy, signed);
    checks.push({
      name: 'witnesses',
      status: met ? 'pass' : 'fail',
      reason: { code: met ? 'witnesses-ok' : 'witness-quorum', params: { got: signed.size, quorum: describePolicy(policy) } },
    });
  } else {
    checks.push({ name: 'witnesses', status: 'skip', reason: { code: 'no-witness-policy' } });
  }

  // 6. The entry is the reading that was asked about.
  if (inp.expect) checks.push(matchExpectation(inp.expect, proof.index, result.reading));

  result.ok = checks.every((c) => c.status !== 'fail');
  return result;
}

async function checkMeterSignature(note: SignedNote, reading: Reading, lookup: ReceiptInputs['meterKey']): Promise<Check> {
  const params = { meter: reading.meter, seq: reading.seq.toString() };
  if (!lookup) return { name: 'entry-signature', status: 'skip', reason: { code: 'no-meter-key', params } };
  let vkey: string | null | undefined;
  try {
    vkey = await lookup(reading.meter);
  } catch (e) {
    return { name: 'entry-signature', status: 'fail', reason: { code: 'meter-key-unavailable', params: { ...params, detail: message(e) } } };
  }
  if (!vkey) return { name: 'entry-signature', status: 'fail', reason: { code: 'meter-key-unavailable', params: { ...params, detail: '-' } } };
  let key: VerifierKey;
  try {
    key = parseVerifierKey(vkey);
  } catch (e) {
    return { name: 'entry-signature', status: 'fail', reason: { code: 'bad-meter-key', params: { ...params, detail: message(e) } } };
  }
  if (key.name !== meterKeyName(reading.meter)) {
    return { name: 'entry-signature', status: 'fail', reason: { code: 'meter-key-name', params: { ...params, name: key.name } } };
  }
  const ok = verifyNoteSignature(note, key);
  return { name: 'entry-signature', status: ok ? 'pass' : 'fail', reason: { code: ok ? 'meter-signature-ok' : 'bad-meter-signature', params } };
}

function matchExpectation(want: Expectation, index: bigint, reading: Reading | undefined): Check {
  if (want.index !== undefined && BigInt(want.index) !== index) {
    return { name: 'match', status: 'fail', reason: { code: 'mismatch-index', params: { got: index.toString(), want: String(want.index) } } };
  }
  if (!reading) {
    if (want.meter !== undefined || want.seq !== undefined || want.values) {
      return { name: 'match', status: 'fail', reason: { code: 'mismatch-kind' } };
    }
    return { name: 'match', status: 'pass', reason: { code: 'match-ok' } };
  }
  if (want.meter !== undefined && want.meter !== reading.meter) {
    return { name: 'match', status: 'fail', reason: { code: 'mismatch-meter', params: { got: reading.meter, want: want.meter } } };
  }
  if (want.seq !== undefined && BigInt(want.seq) !== reading.seq) {
    return { name: 'match', status: 'fail', reason: { code: 'mismatch-seq', params: { got: reading.seq.toString(), want: String(want.seq) } } };
  }
  for (const [channel, stored] of Object.entries(want.values ?? {})) {
    const signed = reading.values.get(channel);
    // Compare as the server would print the signed decimal: both are IEEE doubles
    // parsed from the same decimal text, so any difference is a changed value.
    if (!signed || signed.value !== stored) {
      return {
        name: 'match',
        status: 'fail',
        reason: { code: 'mismatch-value', params: { channel, signed: signed?.text ?? '-', stored: String(stored) } },
      };
    }
  }
  return { name: 'match', status: 'pass', reason: { code: 'match-ok' } };
}

/** receiptText decodes receipt bytes for display. */
export function receiptText(b: Uint8Array): string {
  return fromUTF8(b);
}
