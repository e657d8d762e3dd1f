// C2SP signed notes (c2sp.org/signed-note) and the two signature types the
// console checks: Ed25519 (type 0x01, used by the log for checkpoints and by
// meters for readings) and Ed25519 checkpoint cosignatures (type 0x04,
// c2sp.org/tlog-cosignature, used by witnesses).

import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, decodeBase64, fromUTF8, utf8 } from './bytes';

// Synchronous SHA-512 for @noble/ed25519, so that verification does not need
// WebCrypto: crypto.subtle is missing on plain-http origins other than
// localhost, which is how many plant networks reach the console.
ed.hashes.sha512 = sha512;

/** Signature algorithm identifiers (c2sp.org/signed-note). */
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;

/** VerifierKey is a parsed note verifier key `name+hash+base64(alg||pubkey)`. */
export interface VerifierKey {
  name: string;
  keyId: number;
  alg: number;
  publicKey: Uint8Array;
}

/** NoteSignature is one signature line of a note. */
export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Uint8Array;
}

/** SignedNote is a note split into its signed text and signature lines. */
export interface SignedNote {
  text: string;
  textBytes: Uint8Array;
  signatures: NoteSignature[];
}

function validName(name: string): boolean {
  // Key names are non-empty and contain no '+' and no whitespace (signed-note spec).
  return name.length > 0 && !/[+\s]/u.test(name);
}

/** keyIdOf computes SHA-256(name || 0x0A || alg || pubkey)[:4] as a big-endian number. */
export function keyIdOf(name: string, alg: number, publicKey: Uint8Array): number {
  const h = sha256(concatBytes(utf8(name), new Uint8Array([0x0a, alg]), publicKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/**
 * parseVerifierKey parses a note verifier key. For Ed25519 (0x01) keys the
 * key ID in the text must match the one computed from name and key, as
 * golang.org/x/mod/sumdb/note requires. A key used for cosignatures may be
 * written with type 0x01 or 0x04; its ID is always computed with 0x04.
 */
export function parseVerifierKey(vkey: string, purpose: 'note' | 'cosignature' = 'note'): VerifierKey {
  // Cut twice, as Go does: the base64 key may itself contain '+'.
  const text = vkey.trim();
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new Error('verifier key: want name+hash+key');
  const name = text.slice(0, a);
  const hash = text.slice(a + 1, b);
  const key64 = text.slice(b + 1);
  if (!validName(name)) throw new Error('verifier key: bad name');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('verifier key: bad key hash');
  const raw = decodeBase64(key64);
  if (raw.length !== 33) throw new Error('verifier key: not an Ed25519 key');
  const alg = raw[0];
  const publicKey = raw.slice(1);
  if (purpose === 'note') {
    if (alg !== ALG_ED25519) throw new Error(`verifier key: unsupported algorithm ${alg}`);
    const id = keyIdOf(name, alg, publicKey);
    if (id !== parseInt(hash, 16)) throw new Error('verifier key: key hash does not match key');
    return { name, keyId: id, alg, publicKey };
  }
  if (alg !== ALG_ED25519 && alg !== ALG_COSIGNATURE_V1) throw new Error(`verifier key: unsupported algorithm ${alg}`);
  return { name, keyId: keyIdOf(name, ALG_COSIGNATURE_V1, publicKey), alg: ALG_COSIGNATURE_V1, publicKey };
}

/**
 * parseSignedNote splits a note into text and signatures. The text is
 * everything up to and including the newline before the last blank line;
 * each signature line is `— <name> <base64(keyid||sig)>`.
 */
export function parseSignedNote(msg: Uint8Array | string): SignedNote {
  const s = typeof msg === 'string' ? msg : fromUTF8(msg);
  if (!s.endsWith('\n')) throw new Error('note: does not end in a newline');
  if (s.includes('\r')) throw new Error('note: carriage return in note');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new Error('note: no blank line before signatures');
  const text = s.slice(0, split + 1);
  const sigLines = s.slice(split + 2, -1).split('\n');
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    if (!line.startsWith('\u2014 ')) throw new Error('note: malformed signature line');
    const rest = line.slice(2);
    const sp = rest.indexOf(' ');
    if (sp <= 0) throw new Error('note: malformed signature line');
    const name = rest.slice(0, sp);
    if (!validName(name)) throw new Error('note: bad signer name');
    const raw = decodeBase64(rest.slice(sp + 1));
    if (raw.length < 5) throw new Error('note: signature too short');
    const keyId = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    signatures.push({ name, keyId, signature: raw.slice(4) });
  }
  if (signatures.length === 0) throw new Error('note: no signatures');
  return { text, textBytes: utf8(text), signatures };
}

function ed25519Verify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    // zip215:false follows RFC 8032 / FIPS 186-5, the stricter reading.
    return ed.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

/** signaturesBy returns the note's signatures whose name and key ID match key. */
export function signaturesBy(note: SignedNote, key: VerifierKey): NoteSignature[] {
  return note.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
}

/** verifyNoteSignature reports whether the note carries a valid Ed25519 signature by key. */
export function verifyNoteSignature(note: SignedNote, key: VerifierKey): boolean {
  return signaturesBy(note, key).some((s) => ed25519Verify(s.signature, note.textBytes, key.publicKey));
}

/** Cosignature is a verified witness cosignature with its claimed time. */
export interface Cosignature {
  name: string;
  time: Date;
}

/**
 * verifyCosignature checks a tlog-cosignature/v1 signature by a witness key
 * over the checkpoint text: the signed message is
 * "cosignature/v1\ntime <unix seconds>\n" followed by the checkpoint text.
 */
export function verifyCosignature(note: SignedNote, key: VerifierKey): Cosignature | null {
  for (const s of signaturesBy(note, key)) {
    if (s.signature.length !== 8 + 64) continue;
    let t = 0n;
    for (let i = 0; i < 8; i++) t = (t << 8n) | BigInt(s.signature[i]);
    const msg = concatBytes(utf8(`cosignature/v1\ntime ${t}\n`), note.textBytes);
    if (ed25519Verify(s.signature.slice(8), msg, key.publicKey)) {
      return { name: key.name, time: new Date(Number(t) * 1000) };
    }
  }
  return null;
}

/** Checkpoint is the body of a c2sp.org/tlog-checkpoint. */
export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
}

/** parseCheckpoint parses checkpoint text: origin, decimal size, base64 root, optional extensions. */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint: want origin, size and root lines');
  const [origin, sizeText, rootText] = lines;
  if (origin === '') throw new Error('checkpoint: empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error('checkpoint: size is not a decimal number');
  const root = decodeBase64(rootText);
  if (root.length !== 32) throw new Error('checkpoint: root is not a SHA-256 hash');
  return { origin, size: BigInt(sizeText), root };
}

