// The water-flow Sankey of an enterprise's day, drawn only after the graph
// has been checked (no cycles, no unknown nodes, no negative volumes).

import type { SankeyLink, SankeyNode } from '../app/api';
import { COLORS, makeChart } from '../app/charts';
import { esc, h, replace } from '../app/dom';
import { fmtM3 } from '../app/format';
import { pick, t } from '../app/i18n';
import { checkFlowGraph, dropEmptyLinks, withUnaccounted, type FlowProblem } from '../sankey/dag';

const KIND_COLORS: Record<string, string> = {
  source: COLORS.intake,
  boundary: '#174e7e',
  unit: COLORS.use,
  'reuse-in': COLORS.reuse,
  'reuse-out': COLORS.reuse,
  discharge: COLORS.discharge,
  consumption: COLORS.consumption,
  unaccounted: COLORS.unaccounted,
};

function problemText(p: FlowProblem, label: (n: string) => string): string {
  switch (p.code) {
    case 'cycle':
      return t('sankey.cycle', { path: p.path.map(label).join(' → ') });
    case 'unknown-node':
      return t('sankey.unknownNode', { name: p.name });
    case 'duplicate-node':
      return t('sankey.duplicateNode', { name: p.name });
    case 'bad-value':
      return t('sankey.badValue', { from: label(p.source), to: label(p.target), value: String(p.value) });
  }
}

/** sankeyError is the panel shown instead of a chart that cannot be drawn. */
function sankeyError(text: string): HTMLElement {
  return h('div', { class: 'error-panel compact', role: 'alert', 'data-testid': 'sankey-error' }, h('h3', null, t('sankey.error.title')), h('p', null, text));
}

/** drawSankey fills box with the diagram or an explanation of why it cannot be drawn. */
export function drawSankey(box: HTMLElement, balance: { sankey?: { nodes: SankeyNode[]; links: SankeyLink[] } }, onCleanup: (fn: () => void) => void): void {
  const unaccounted: SankeyNode = { name: '__unaccounted', label: '未计量/漏失', label_en: 'Unaccounted / leakage', kind: 'unaccounted' };
  const raw = balance.sankey ?? { nodes: [], links: [] };
  const g = withUnaccounted(raw.nodes ?? [], dropEmptyLinks(raw.links ?? []), unaccounted);
  const nodes = g.nodes as SankeyNode[];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const label = (name: string) => {
    const n = byName.get(name);
    return n ? pick(n.label || n.name, n.label_en) : name;
  };
  const problem = checkFlowGraph(nodes, g.links);
  if (problem) {
    replace(box, sankeyError(problemText(problem, label)));
    return;
  }
  if (g.links.length === 0) {
    replace(box, h('p', { class: 'empty' }, t('sankey.empty')));
    return;
  }
  const used = new Set(g.links.flatMap((l) => [l.source, l.target]));
  const el = h('div', { class: 'chart sankey', 'data-testid': 'sankey' });
  replace(box, el);
  try {
    makeChart(
      el,
      {
        tooltip: {
          trigger: 'item',
          formatter: (p: { dataType?: string; name: string; value: number; data: { source?: string; target?: string } }) =>
            p.dataType === 'edge'
              ? `${esc(label(p.data.source!))} → ${esc(label(p.data.target!))}<br>${esc(fmtM3(p.value))}`
              : `${esc(label(p.name))}<br>${esc(fmtM3(p.value))}`,
        },
        series: [
          {
            type: 'sankey',
            left: 8,
            right: 160,
            top: 16,
            bottom: 16,
            nodeGap: 12,
            nodeAlign: 'justify',
            layoutIterations: 64,
            emphasis: { focus: 'adjacency' },
            data: nodes
              .filter((n) => used.has(n.name))
              .map((n) => ({ name: n.name, itemStyle: { color: KIND_COLORS[n.kind ?? ''] ?? COLORS.grey } })),
            links: g.links.map((l) => ({ source: l.source, target: l.target, value: l.value })),
            label: { formatter: (p: { name: string; value: number }) => `${label(p.name)}  ${fmtM3(p.value)}` },
            lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.4 },
          },
        ],
      },
      onCleanup,
    );
  } catch (e) {
    // ECharts' own DAG check, should ours ever miss a case.
    replace(box, sankeyError((e as Error).message));
  }
}
