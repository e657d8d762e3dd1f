// A from-scratch transparency log for tests, built only with node:crypto and
// the RFC 6962 definitions (MTH and PATH, §2.1 and §2.1.1), so that the
// verifier under test is checked against an independent implementation.
// Test-only: imported by *.test.ts files, never by the console.

import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

const enc = new TextEncoder();

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** TestKey is an Ed25519 note key with its verifier key string. */
export interface TestKey {
  name: string;
  priv: KeyObject;
  pub: Uint8Array;
  vkey: string;
  keyId: Uint8Array;
}

/** newKey makes an Ed25519 note key; alg is 1 (note) or 4 (cosignature). */
export function newKey(name: string, alg = 1, seed?: Uint8Array): TestKey {
  let priv: KeyObject;
  if (seed) {
    // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
    const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
    priv = createPrivateKey({ key: Buffer.concat([prefix, Buffer.from(seed)]), format: 'der', type: 'pkcs8' });
  } else {
    priv = generateKeyPairSync('ed25519').privateKey;
  }
  const jwk = priv.export({ format: 'jwk' });
  const pub = new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
  const keyId = sha256(enc.encode(name), new Uint8Array([0x0a, alg]), pub).slice(0, 4);
  const vkey = `${name}+${Buffer.from(keyId).toString('hex')}+${b64(new Uint8Array([alg, ...pub]))}`;
  return { name, priv, pub, vkey, keyId };
}

/** signNote signs note text with each key and returns the signed note. */
export function signNote(text: string, ...keys: TestKey[]): string {
  let out = text + '\n';
  for (const k of keys) {
    const sig = new Uint8Array(sign(null, Buffer.from(text), k.priv));
    out += `\u2014 ${k.name} ${b64(new Uint8Array([...k.keyId, ...sig]))}\n`;
  }
  return out;
}

/** cosign appends a tlog-cosignature/v1 line by a witness key (made with alg 4). */
export function cosign(signedCheckpoint: string, w: TestKey, time: number): string {
  const text = signedCheckpoint.slice(0, signedCheckpoint.lastIndexOf('\n\n') + 1);
  const msg = `cosignature/v1\ntime ${time}\n${text}`;
  const sig = new Uint8Array(sign(null, Buffer.from(msg), w.priv));
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(time));
  return signedCheckpoint + `\u2014 ${w.name} ${b64(new Uint8Array([...w.keyId, ...ts, ...sig]))}\n`;
}

/** mth is the RFC 6962 Merkle Tree Hash of a list of entries. */
export function mth(entries: Uint8Array[]): Uint8Array {
  const n = entries.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(new Uint8Array([0]), entries[0]);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(new Uint8Array([1]), mth(entries.slice(0, k)), mth(entries.slice(k)));
}

/** path is the RFC 6962 audit path PATH(m, D[n]). */
export function path(m: number, entries: Uint8Array[]): Uint8Array[] {
  const n = entries.length;
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m < k) return [...path(m, entries.slice(0, k)), mth(entries.slice(k))];
  return [...path(m - k, entries.slice(k)), mth(entries.slice(0, k))];
}

/** readingText formats a reading's note text like the Go package `reading`. */
export function readingText(meter: string, seq: number, values: Record<string, string>): string {
  let t = `hn-water-reading/v1\nmeter ${meter}\nseq ${seq}\ntime 2026-11-28T02:00:${String(seq % 60).padStart(2, '0')}.000Z\nprev -\npoint P-${meter}\n`;
  for (const [k, v] of Object.entries(values)) t += `${k} ${v}\n`;
  return t;
}

/** TestLog is a log of signed entries with its log key. */
export interface TestLog {
  origin: string;
  logKey: TestKey;
  entries: string[];
}

/** checkpointFor signs a checkpoint over the whole log. */
export function checkpointFor(log: TestLog, signer: TestKey = log.logKey, origin = log.origin): string {
  const data = log.entries.map((e) => enc.encode(e));
  return signNote(`${origin}\n${data.length}\n${b64(mth(data))}\n`, signer);
}

/** receiptFor builds a c2sp.org/tlog-proof@v1 receipt for entry i. */
export function receiptFor(log: TestLog, i: number, checkpoint = checkpointFor(log)): string {
  const data = log.entries.map((e) => enc.encode(e));
  const hashes = path(i, data).map(b64);
  return ['c2sp.org/tlog-proof@v1', `extra ${b64(data[i])}`, `index ${i}`, ...hashes, '', checkpoint].join('\n');
}
