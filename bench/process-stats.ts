import { readdirSync, readFileSync } from 'node:fs';

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

/** The processes that share the machine with the hub, by their command name in /proc. */
const serviceNames: Record<string, string> = { postgres: 'postgres', 'beam.smp': 'rabbitmq', 'redis-server': 'redis' };

export interface CpuSnapshot { at: number; machineBusySeconds: number; byService: Record<string, number> }

/**
 * CPU time used so far by the whole machine (all cores, from /proc/stat) and by each
 * service (every Postgres backend, the RabbitMQ VM, Redis). Two snapshots tell where a
 * step's CPU went — whether the hub, its database or its broker ran out first.
 */
export function cpuSnapshot(): CpuSnapshot {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait
  const busyTicks = cpu.reduce((s, v) => s + v, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  const byService: Record<string, number> = { postgres: 0, rabbitmq: 0, redis: 0 };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const service = serviceNames[stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))];
      if (!service) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byService[service]! += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      // the process ended between listing and reading
    }
  }
  return { at: performance.now(), machineBusySeconds: busyTicks / ticksPerSecond, byService };
}

/** CPU % of one core per service, and of the whole machine, between two snapshots. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const pct = (used: number) => Math.round((used / seconds) * 1000) / 10;
  return {
    machine: pct(b.machineBusySeconds - a.machineBusySeconds),
    ...Object.fromEntries(Object.keys(b.byService).map((k) => [k, pct((b.byService[k] ?? 0) - (a.byService[k] ?? 0))])),
  };
}
