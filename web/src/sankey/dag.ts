// Checks a water-flow graph before ECharts draws it as a Sankey diagram.
// ECharts throws "Sankey is a DAG, the original data has cycle!" on a cycle
// (apache/echarts#19387), and a water balance naturally has loops
// (recirculated water). The server sends an acyclic view; this guard makes a
// faulty graph an explained error instead of a crashed chart.

/** FlowNode is a node of the flow graph. */
export interface FlowNode {
  name: string;
  kind?: string;
}

/** FlowLink is a volume flowing from source to target. */
export interface FlowLink {
  source: string;
  target: string;
  value: number;
}

/** FlowProblem says why a graph cannot be drawn. */
export type FlowProblem =
  | { code: 'cycle'; path: string[] }
  | { code: 'unknown-node'; name: string }
  | { code: 'duplicate-node'; name: string }
  | { code: 'bad-value'; source: string; target: string; value: number };

/**
 * findCycle returns a cycle as a node path that starts and ends at the same
 * node (["a", "b", "a"]), or null if the graph is acyclic. Iterative DFS,
 * so deep graphs cannot overflow the stack.
 */
export function findCycle(nodes: string[], links: { source: string; target: string }[]): string[] | null {
  const out = new Map<string, string[]>();
  for (const n of nodes) out.set(n, []);
  for (const l of links) {
    if (!out.has(l.source)) out.set(l.source, []);
    if (!out.has(l.target)) out.set(l.target, []);
    out.get(l.source)!.push(l.target);
  }
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const parent = new Map<string, string>();
  for (const start of out.keys()) {
    if ((color.get(start) ?? WHITE) !== WHITE) continue;
    const stack: { node: string; next: number }[] = [{ node: start, next: 0 }];
    color.set(start, GREY);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const succ = out.get(top.node)!;
      if (top.next >= succ.length) {
        color.set(top.node, BLACK);
        stack.pop();
        continue;
      }
      const m = succ[top.next++];
      const c = color.get(m) ?? WHITE;
      if (c === GREY) {
        // Walk back from top.node to m to spell out the cycle.
        const path = [m];
        for (let n = top.node; n !== m; n = parent.get(n)!) path.push(n);
        path.push(m);
        return path.reverse();
      }
      if (c === WHITE) {
        color.set(m, GREY);
        parent.set(m, top.node);
        stack.push({ node: m, next: 0 });
      }
    }
  }
  return null;
}

/** checkFlowGraph returns the first problem that would stop the Sankey, or null. */
export function checkFlowGraph(nodes: FlowNode[], links: FlowLink[]): FlowProblem | null {
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) return { code: 'duplicate-node', name: n.name };
    names.add(n.name);
  }
  for (const l of links) {
    if (!names.has(l.source)) return { code: 'unknown-node', name: l.source };
    if (!names.has(l.target)) return { code: 'unknown-node', name: l.target };
    if (typeof l.value !== 'number' || !Number.isFinite(l.value) || l.value < 0) {
      return { code: 'bad-value', source: l.source, target: l.target, value: l.value };
    }
  }
  const cycle = findCycle([...names], links);
  return cycle ? { code: 'cycle', path: cycle } : null;
}

/**
 * withUnaccounted makes unaccounted water visible when the graph does not
 * already have an "unaccounted" node: each node that has both inflow and
 * outflow and receives more than it passes on (beyond a relative tolerance)
 * gets a link for the difference to one "unaccounted" node. Nodes without
 * outflow are sinks (consumption, discharge) and keep what they receive.
 */
export function withUnaccounted(
  nodes: FlowNode[],
  links: FlowLink[],
  unaccounted: FlowNode,
  tolerance = 0.005,
): { nodes: FlowNode[]; links: FlowLink[] } {
  if (nodes.some((n) => n.kind === 'unaccounted' || n.name === unaccounted.name)) return { nodes, links };
  const inflow = new Map<string, number>();
  const outflow = new Map<string, number>();
  for (const l of links) {
    inflow.set(l.target, (inflow.get(l.target) ?? 0) + l.value);
    outflow.set(l.source, (outflow.get(l.source) ?? 0) + l.value);
  }
  const extra: FlowLink[] = [];
  for (const n of nodes) {
    const i = inflow.get(n.name) ?? 0;
    const o = outflow.get(n.name);
    if (o === undefined || i === 0) continue;
    const gap = i - o;
    if (gap > tolerance * i) extra.push({ source: n.name, target: unaccounted.name, value: gap });
  }
  if (extra.length === 0) return { nodes, links };
  return { nodes: [...nodes, unaccounted], links: [...links, ...extra] };
}

/** dropEmptyLinks removes zero-volume links, which only clutter the diagram. */
export function dropEmptyLinks(links: FlowLink[]): FlowLink[] {
  return links.filter((l) => l.value > 0);
}
