/**
 * The highest rate a scenario has PASSed at on this machine (issue 12 item 10): on a machine that
 * cannot reach the demo's 20,000 req/s the demo stays INVALID, and says which rate did pass here,
 * measured, not guessed. Read from the result.json files under the reports directory: the runs
 * (<out>/<run id>/) and the bench's ceiling probes (<out>/bench/<stamp>-probes/<run id>/), newest
 * first and bounded, on this host, of the same scenario and runtime.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface PassingRate {
  rate: number;
  runId: string;
  endedAt: string;
  file: string;
}

/** At most this many result files are read (the newest by directory name: run ids sort by time). */
const MAX_FILES = 300;

interface ResultHead {
  verdict?: string;
  run?: { id?: string; endedAt?: string; runtime?: string; scenario?: { name?: string }; machine?: { hostname?: string } };
  load?: { targetRate?: number };
}

function runDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

export function highestPassingRate(outDir: string, scenario: string, runtime: string, host: string = hostname()): PassingRate | null {
  const benchProbes = runDirs(join(outDir, 'bench')).filter((d) => d.endsWith('-probes'));
  const dirs = [...runDirs(outDir), ...benchProbes.flatMap(runDirs)]
    .filter((d) => existsSync(join(d, 'result.json')))
    .sort((a, b) => (a.slice(a.lastIndexOf('/')) < b.slice(b.lastIndexOf('/')) ? 1 : -1))
    .slice(0, MAX_FILES);
  let best: PassingRate | null = null;
  for (const d of dirs) {
    const file = join(d, 'result.json');
    let r: ResultHead;
    try {
      r = JSON.parse(readFileSync(file, 'utf8')) as ResultHead;
    } catch {
      continue;
    }
    const rate = r.load?.targetRate ?? 0;
    if (r.verdict !== 'PASS' || r.run?.scenario?.name !== scenario || r.run.runtime !== runtime || rate <= 0) continue;
    if (r.run.machine?.hostname !== undefined && r.run.machine.hostname !== host) continue;
    if (best === null || rate > best.rate) best = { rate, runId: r.run.id ?? d, endedAt: r.run.endedAt ?? '', file };
  }
  return best;
}
