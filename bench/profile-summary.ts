/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top]`: the functions with the most self
 * time in a V8 CPU profile (as `node --cpu-prof` writes it), and the time by package.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export function selfTimes(profile: Profile): { name: string; where: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, { name: string; where: string; ms: number }>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules\/|main\/)/, '$1')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = ms.get(key) ?? { name: functionName || '(anonymous)', where, ms: 0 };
    entry.ms += (profile.timeDeltas[i] ?? 0) / 1000;
    ms.set(key, entry);
  });
  return [...ms.values()].sort((a, b) => b.ms - a.ms);
}

/** Self time grouped by package (node_modules/<name>), the hub's own code, or Node internals. */
export function byPackage(entries: readonly { where: string; name: string; ms: number }[]): [string, number][] {
  const groups = new Map<string, number>();
  for (const e of entries) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(e.where)?.[1]
      ?? (e.where.startsWith('node:') ? 'node internals' : e.where ? 'hub' : `(${e.name})`);
    groups.set(pkg, (groups.get(pkg) ?? 0) + e.ms);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const [file, top = '30'] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const entries = selfTimes(profile);
  const total = entries.reduce((s, e) => s + e.ms, 0);
  const pct = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`profile ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1000).toFixed(1)} s sampled`);
  for (const e of entries.slice(0, Number(top))) console.log(`${pct(e.ms)} ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}  ${e.where}`);
  console.log('\nby package:');
  for (const [pkg, v] of byPackage(entries).slice(0, 20)) console.log(`${pct(v)} ${v.toFixed(0).padStart(7)} ms  ${pkg}`);
}
