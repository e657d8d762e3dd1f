// The ledger's entry formats as the console needs them: a meter reading
// (hn-water-reading/v1) and a meter-key entry (hn-water-meter-key/v1), both
// C2SP signed notes. Mirrors the Go package `reading`; only what a verifier
// reads is parsed.

/** READING_HEADER is the first line of a reading. */
export const READING_HEADER = 'hn-water-reading/v1';
/** KEY_HEADER is the first line of a meter-key entry. */
export const KEY_HEADER = 'hn-water-meter-key/v1';

/** SignedValue is a channel value as the meter wrote it. */
export interface SignedValue {
  text: string;
  value: number;
}

/** Reading is the parsed text of a signed reading. */
export interface Reading {
  meter: string;
  seq: bigint;
  time: string;
  prev: string;
  point: string;
  values: Map<string, SignedValue>;
  cp?: string;
}

const DECIMAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const ID = /^[A-Za-z0-9._-]{1,64}$/;
const CHANNEL = /^[a-z0-9_]{1,32}$/;

/** meterKeyName is the note key name a meter signs with. */
export function meterKeyName(meter: string): string {
  return `meter/${meter}`;
}

/** parseReading parses reading note text (ending in "\n", without signatures). */
export function parseReading(text: string): Reading {
  if (!text.startsWith(READING_HEADER + '\n')) throw new Error(`not a ${READING_HEADER} note`);
  const lines = text.slice(READING_HEADER.length + 1, -1).split('\n');
  const fields = new Map<string, string>();
  const values = new Map<string, SignedValue>();
  lines.forEach((line, i) => {
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new Error(`line ${i + 2}: want "key value"`);
    const [key, val] = parts;
    if (['meter', 'seq', 'time', 'prev', 'point', 'cp'].includes(key)) {
      if (fields.has(key)) throw new Error(`line ${i + 2}: duplicate ${key}`);
      fields.set(key, val);
      return;
    }
    if (!CHANNEL.test(key)) throw new Error(`line ${i + 2}: "${key}" is not a channel name`);
    if (values.has(key)) throw new Error(`line ${i + 2}: duplicate channel ${key}`);
    if (!DECIMAL.test(val)) throw new Error(`line ${i + 2}: ${key} is not a decimal number`);
    values.set(key, { text: val, value: Number(val) });
  });
  for (const f of ['meter', 'seq', 'time', 'prev', 'point']) {
    if (!fields.has(f)) throw new Error(`missing ${f}`);
  }
  const meter = fields.get('meter')!;
  if (!ID.test(meter)) throw new Error('bad meter id');
  const seq = fields.get('seq')!;
  if (!/^(0|[1-9][0-9]*)$/.test(seq)) throw new Error('seq is not a decimal integer');
  if (values.size === 0) throw new Error('no channel values');
  return {
    meter,
    seq: BigInt(seq),
    time: fields.get('time')!,
    prev: fields.get('prev')!,
    point: fields.get('point')!,
    values,
    cp: fields.get('cp'),
  };
}

/** KeyEntry is the parsed text of a meter-key entry. */
export interface KeyEntry {
  action: string;
  meter: string;
  fields: Map<string, string>;
}

/** parseKeyEntry parses a meter-key entry's note text. */
export function parseKeyEntry(text: string): KeyEntry {
  if (!text.startsWith(KEY_HEADER + '\n')) throw new Error(`not a ${KEY_HEADER} note`);
  const fields = new Map<string, string>();
  for (const line of text.slice(KEY_HEADER.length + 1, -1).split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) throw new Error('malformed key entry line');
    fields.set(line.slice(0, sp), line.slice(sp + 1));
  }
  const action = fields.get('action');
  const meter = fields.get('meter');
  if (!action || !meter) throw new Error('key entry without action or meter');
  return { action, meter, fields };
}
