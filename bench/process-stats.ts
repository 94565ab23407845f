import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

export interface ProcessSample { pid: number; rssMb: number; cpuSeconds: number }

/** RSS (VmRSS) and CPU time used so far (utime + stime) of a process, read from /proc. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces: fields count from after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    return { pid, rssMb: rssKb / 1024, cpuSeconds: cpuTicks / ticksPerSecond };
  } catch {
    return undefined;
  }
}

/** Samples a set of processes every `everyMs`: peak and last RSS, and CPU % over a window. */
export function watchProcesses(pids: () => readonly number[], everyMs = 500) {
  const samples: { at: number; byPid: Map<number, ProcessSample> }[] = [];
  const take = () => {
    const byPid = new Map<number, ProcessSample>();
    for (const pid of pids()) {
      const s = sampleProcess(pid);
      if (s) byPid.set(pid, s);
    }
    samples.push({ at: performance.now(), byPid });
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    /** the latest sample: RSS per process and summed */
    now() {
      take();
      return samples[samples.length - 1]!;
    },
    /** per process: CPU % of one core between two instants, RSS max in that window */
    window(fromMs: number, toMs: number) {
      const inside = samples.filter((s) => s.at >= fromMs && s.at <= toMs);
      const first = inside[0];
      const last = inside[inside.length - 1];
      const result = new Map<number, { cpuPct: number; rssMaxMb: number; rssLastMb: number }>();
      if (!first || !last || last === first) return result;
      for (const [pid, end] of last.byPid) {
        const start = first.byPid.get(pid);
        if (!start) continue;
        const cpuPct = ((end.cpuSeconds - start.cpuSeconds) / ((last.at - first.at) / 1000)) * 100;
        const rssMaxMb = Math.max(...inside.map((s) => s.byPid.get(pid)?.rssMb ?? 0));
        result.set(pid, { cpuPct, rssMaxMb, rssLastMb: end.rssMb });
      }
      return result;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
