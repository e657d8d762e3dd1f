// Witness policies: which witnesses must have cosigned a checkpoint before a
// verifier believes it. The text format is Sigsum's policy format with C2SP
// cosignature/v1 verifier keys, as the Go verifier (package verify) and
// tessera.NewWitnessGroupFromPolicy read it:
//
//   witness NAME VKEY [URL]
//   group NAME K|any|all MEMBER...
//   quorum NAME|none
//   log VKEY [URL]            (ignored here: the log key is given separately)
//   # comment

import { parseVerifierKey, type VerifierKey } from './note';

interface Witness {
  kind: 'witness';
  name: string;
  key: VerifierKey;
  vkey: string;
}

interface Group {
  kind: 'group';
  name: string;
  threshold: number;
  members: Component[];
}

type Component = Witness | Group;

/** WitnessPolicy is a parsed policy; quorum null means no cosignature is required. */
export interface WitnessPolicy {
  witnesses: Witness[];
  quorum: Component | null;
}

const KEYWORDS = new Set(['witness', 'group', 'any', 'all', 'none', 'quorum', 'log']);

/** parseWitnessPolicy parses a policy with the same rules as the Go verifier. */
export function parseWitnessPolicy(text: string): WitnessPolicy {
  const components = new Map<string, Component>();
  const witnesses: Witness[] = [];
  let quorum: Component | null = null;
  let quorumSeen = false;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const bad = (msg: string) => new Error(`witness policy line ${i + 1}: ${msg}`);
    const hash = raw.indexOf('#');
    const fields = (hash >= 0 ? raw.slice(0, hash) : raw).trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    const newName = (name: string) => {
      if (KEYWORDS.has(name)) throw bad(`"${name}" is a keyword, not a name`);
      if (components.has(name)) throw bad(`"${name}" defined twice`);
    };
    switch (fields[0]) {
      case 'log':
        if (fields.length < 2 || fields.length > 3) throw bad('want "log VKEY [URL]"');
        return;
      case 'witness': {
        if (fields.length < 3 || fields.length > 4) throw bad('want "witness NAME VKEY [URL]"');
        const [, name, vkey] = fields;
        newName(name);
        let key: VerifierKey;
        try {
          key = parseVerifierKey(vkey, 'cosignature');
        } catch (e) {
          throw bad(`witness ${name}: ${(e as Error).message}`);
        }
        const w: Witness = { kind: 'witness', name, key, vkey };
        components.set(name, w);
        witnesses.push(w);
        return;
      }
      case 'group': {
        if (fields.length < 4) throw bad('want "group NAME K|any|all MEMBER..."');
        const [, name, k, ...memberNames] = fields;
        newName(name);
        const members: Component[] = [];
        for (const m of memberNames) {
          const c = components.get(m);
          if (!c) throw bad(`group ${name}: unknown member "${m}" (define it above)`);
          if (members.includes(c)) throw bad(`group ${name}: member "${m}" listed twice`);
          members.push(c);
        }
        let threshold: number;
        if (k === 'any') threshold = 1;
        else if (k === 'all') threshold = members.length;
        else {
          threshold = Number(k);
          if (!/^[1-9][0-9]*$/.test(k) || threshold > members.length) throw bad(`group ${name}: threshold "${k}" must be any, all or 1..${members.length}`);
        }
        components.set(name, { kind: 'group', name, threshold, members });
        return;
      }
      case 'quorum':
        if (fields.length !== 2) throw bad('want "quorum NAME|none"');
        if (quorumSeen) throw bad('second quorum line');
        quorumSeen = true;
        if (fields[1] !== 'none') {
          const c = components.get(fields[1]);
          if (!c) throw bad(`quorum "${fields[1]}" is not defined above`);
          quorum = c;
        }
        return;
      default:
        throw bad(`unknown keyword "${fields[0]}"`);
    }
  });
  if (!quorumSeen) throw new Error('witness policy: no quorum line');
  return { witnesses, quorum };
}

/** kOfN is the policy "k of these witness keys". */
export function kOfN(vkeys: string[], k: number): WitnessPolicy {
  const witnesses: Witness[] = vkeys.map((vkey, i) => ({ kind: 'witness', name: `w${i + 1}`, key: parseVerifierKey(vkey, 'cosignature'), vkey }));
  if (k < 1) return { witnesses, quorum: null };
  return { witnesses, quorum: { kind: 'group', name: 'quorum', threshold: Math.min(k, witnesses.length), members: witnesses } };
}

/** keyIdent identifies a key by name and key ID, as signatures are matched. */
export function keyIdent(k: VerifierKey): string {
  return `${k.name}+${k.keyId.toString(16)}`;
}

function satisfiedBy(c: Component, signed: Set<string>): boolean {
  if (c.kind === 'witness') return signed.has(keyIdent(c.key));
  return c.members.filter((m) => satisfiedBy(m, signed)).length >= c.threshold;
}

/** quorumMet reports whether the keys whose cosignatures verified satisfy the policy. */
export function quorumMet(p: WitnessPolicy, signed: Set<string>): boolean {
  return p.quorum === null || satisfiedBy(p.quorum, signed);
}

/** describePolicy renders the quorum, e.g. "2 of {w1, w2, w3}" (or "none"). */
export function describePolicy(p: WitnessPolicy): string {
  const d = (c: Component): string => (c.kind === 'witness' ? c.name : `${c.threshold} of {${c.members.map(d).join(', ')}}`);
  return p.quorum ? d(p.quorum) : 'none';
}
