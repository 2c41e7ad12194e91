/**
 * CPU time of the calling thread (utime + stime, in /proc's ticks of 1/100 s), or null off Linux.
 * Worker threads all show as "node" in /proc/<pid>/task, so a thread reads its own
 * /proc/thread-self and reports it: the driver and proxy threads' CPU in the run's machine samples.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc's CPU times on every Linux zerodrop targets. */
export const PROC_TICKS_PER_S = 100;

export function threadCpuTicks(): number | null {
  try {
    const text = readFileSync('/proc/thread-self/stat', 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}
