/**
 * The report's "Writes and the volume" section (load.writes): the read-back on the run's clock,
 * what it found, and the writes of each step window (acknowledged, durable, lost, landed although
 * their client saw a failure). Rendered from result.data alone, like every other section.
 */
import type { RunResult } from '../result/types.js';
import type { Block, Section } from './doc.js';

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function dataSection(r: RunResult): Section | null {
  const d = r.data;
  if (!d) return null;
  const lost = d.missing + d.corrupt;
  const blocks: Block[] = [
    {
      kind: 'facts',
      items: [
        { label: 'Writes', value: `${d.writes} sent · ${d.acknowledged} acknowledged · ${d.unacknowledged} not acknowledged (failures of the ledger)` },
        {
          label: 'Read back',
          value: `${d.durable} intact · ${lost} lost (${d.missing} missing, ${d.corrupt} changed)${d.unread > 0 ? ` · ${d.unread} unread` : ''}`,
        },
        {
          label: 'Phantoms',
          value:
            d.listed === null
              ? (d.listNote ?? 'no key listing')
              : `${d.phantom} of ${d.listed} stored keys · ${d.landedUnacknowledged} unacknowledged write(s) landed anyway`,
        },
        {
          label: 'Read-back phase',
          value: `from ${s(d.readBack.startedMs)} to ${s(d.readBack.endedMs)} (${d.readBack.requests} requests through the data plane, after every counter was read)`,
        },
        ...(d.perZone ? [{ label: 'Volumes', value: "one per zone: a zone's writes are readable only from that zone" }] : []),
      ],
    },
    {
      kind: 'table',
      head: ['Window', 'From', 'To', 'Writes', 'Acknowledged', 'Durable', 'Lost', 'Landed, unacknowledged'],
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      rows: d.windows.map((w) => [
        w.label,
        s(w.fromMs),
        s(w.toMs),
        String(w.writes),
        String(w.acknowledged),
        String(w.durable),
        String(w.lost),
        String(w.landedUnacknowledged),
      ]),
      rowTone: d.windows.map((w) => (w.lost > 0 ? 'bad' : null)),
    },
  ];
  if (d.samples.lost.length > 0) blocks.push({ kind: 'para', content: [`Lost (first ${d.samples.lost.length}): ${d.samples.lost.join(', ')}`] });
  if (d.samples.phantom.length > 0)
    blocks.push({ kind: 'para', content: [`Phantom keys (first ${d.samples.phantom.length}): ${d.samples.phantom.join(', ')}`] });
  return { id: 'data', title: 'Writes and the volume', blocks };
}
