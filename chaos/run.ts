/**
 * `npm run chaos -- [--orders N] [--workers N] [--duplicates 0.1] [--out-of-order 0.1]
 * [--rate R] [--faults S] [--seed N] [--drain S] [--shared] [--json]`: the hub as separate
 * processes on throwaway RabbitMQ, Postgres and Redis (`--shared`: on the machine's, with no
 * service restarts), a mixed webhook stream, faults while it runs, then the
 * checks (see docs/RELIABILITY.md). Progress goes to stderr; with --json one JSON line goes
 * to stdout. Exits 1 if anything was lost, duplicated or left stuck.
 */
import { parseArgs } from 'node:util';
import { defaultChaosOptions, runChaos } from './harness.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string' }, workers: { type: 'string' }, duplicates: { type: 'string' }, 'out-of-order': { type: 'string' },
    rate: { type: 'string' }, faults: { type: 'string' }, seed: { type: 'string' }, drain: { type: 'string' }, shared: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
  },
});
const number = (text: string | undefined, fallback: number) => (text === undefined ? fallback : Number(text));
const options = {
  orders: number(values.orders, defaultChaosOptions.orders),
  workers: number(values.workers, defaultChaosOptions.workers),
  duplicates: number(values.duplicates, defaultChaosOptions.duplicates),
  outOfOrder: number(values['out-of-order'], defaultChaosOptions.outOfOrder),
  rate: number(values.rate, defaultChaosOptions.rate),
  faultEverySeconds: number(values.faults, defaultChaosOptions.faultEverySeconds),
  seed: number(values.seed, defaultChaosOptions.seed),
  drainTimeoutSeconds: number(values.drain, defaultChaosOptions.drainTimeoutSeconds),
  shared: values.shared,
  log: (line: string) => process.stderr.write(`${line}\n`),
};
if (!(options.orders > 0) || !(options.workers >= 2) || !(options.duplicates >= 0 && options.duplicates <= 1) || !(options.outOfOrder >= 0 && options.outOfOrder <= 1)
  || !(options.rate > 0) || !(options.faultEverySeconds > 0) || !Number.isInteger(options.seed)) {
  process.stderr.write('usage: npm run chaos -- [--orders N] [--workers N≥2] [--duplicates 0..1] [--out-of-order 0..1] [--rate R] [--faults seconds] [--seed N] [--drain seconds] [--shared] [--json]\n');
  process.exit(2);
}

const result = await runChaos(options);
const { logDir, ...figures } = result;
const line = { orders: figures.orders, lost: figures.lost, duplicated: figures.duplicated, stuck: figures.stuck, negativeStock: figures.negativeStock, stockMismatch: figures.stockMismatch, parked: figures.parked, emailResent: figures.emailResent, crashes: figures.crashes, faults: figures.faults, duration_s: figures.duration_s, webhooksAccepted: figures.webhooksAccepted, refused: figures.refused, drained: figures.drained, seed: figures.seed };
if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
else process.stderr.write(`${JSON.stringify(line, null, 2)}\n`);
if (result.harnessErrors.length > 0) {
  process.stderr.write(`the harness itself failed during the run: ${result.harnessErrors.join('; ')}\n`);
  process.exit(2);
}
const failed = result.lost > 0 || result.duplicated > 0 || result.stuck > 0 || result.negativeStock > 0 || result.stockMismatch > 0;
process.stderr.write(`${failed ? 'FAILED' : 'passed'}; hub logs in ${logDir}\n`);
process.exit(failed ? 1 : 0);
