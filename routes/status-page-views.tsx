/**
 * The status page's markup (hono/jsx, rendered on the server): no script, one nonce'd style
 * sheet, forms that post back with the session's CSRF token.
 */
import type { Child } from 'hono/jsx';
import type { DeskException, OutboxBacklog, RecentOrder } from '../core/db/sql/status-page.ts';
import { busiestMinute, type MinuteBucket } from '../core/reports/throughput.ts';
import type { FlowsReport, QueueFlow } from '../core/reports/flows.ts';
import { formatMinorUnits } from '../core/money.ts';
import type { Principal } from './principal.ts';

/** Seconds between the page's own reloads (`<meta http-equiv="refresh">`). */
export const refreshSeconds = 10;

const styles = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{display:flex;justify-content:space-between;align-items:center;padding:8px 16px;background:#1d2430;color:#fff}
header form{margin:0}
main{padding:12px 16px;display:grid;gap:16px}
section{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:10px 14px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eceef2;vertical-align:top}
.flow{display:flex;flex-wrap:wrap;align-items:center;gap:6px}
.stage{border:2px solid #4a6fa5;border-radius:6px;padding:6px 10px;min-width:92px;text-align:center;background:#eef3fb}
.stage b{display:block;font-size:20px}
.arrow{font-size:20px;color:#4a6fa5}
.side{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
.side .stage{border-color:#a0a8b5;background:#f7f8fa}
.side .stage.alert{border-color:#c0392b;background:#fdeeee}
tr.overdue td{background:#fdeeee}
.overdue-tag{color:#c0392b;font-weight:bold}
.note{color:#5b6473;font-size:12px}
.error{color:#c0392b;font-weight:bold}
.login{max-width:360px;margin:10vh auto}
.login input[type=password]{width:100%;box-sizing:border-box;padding:6px;margin:6px 0}
svg{max-width:100%;height:auto}svg text{font-size:6px;fill:#5b6473}
.received{fill:#4a6fa5}.released{fill:#2e8b57}.legend-received{color:#4a6fa5}.legend-released{color:#2e8b57}
`;

function Layout(props: { nonce: string; title: string; refresh?: boolean; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refresh ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
        <title>{props.title}</title>
        {/* no icon to fetch: the browser would otherwise ask for /favicon.ico */}
        <link rel="icon" href="data:," />
        <style nonce={props.nonce}>{styles}</style>
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/** The login form: one token field; `message` says why the last attempt failed. */
export function LoginPage(props: { nonce: string; message?: string | undefined }) {
  return (
    <Layout nonce={props.nonce} title="Order hub · log in">
      <main class="login">
        <section>
          <h1>Order hub</h1>
          <p>Log in with an API key or the admin token.</p>
          {props.message ? <p class="error" role="alert">{props.message}</p> : null}
          <form method="post" action="/login">
            <label for="token">Token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required />
            <button type="submit">Log in</button>
          </form>
        </section>
      </main>
    </Layout>
  );
}

/** A refused or failed action, with the way back. */
export function MessagePage(props: { nonce: string; title: string; message: string }) {
  return (
    <Layout nonce={props.nonce} title={`Order hub · ${props.title}`}>
      <main>
        <section>
          <h1>{props.title}</h1>
          <p class="error" role="alert">{props.message}</p>
          <p><a href="/">Back to the status page</a></p>
        </section>
      </main>
    </Layout>
  );
}

/** Where orders are in the flow, as the page draws it. */
export interface FlowCounts {
  /** orders by status (every status the hub has orders in) */
  ordersByStatus: Record<string, number>;
  /** stored deliveries not normalized yet */
  inboundWaiting: number;
  outbox: OutboxBacklog;
  openExceptions: number;
  /** `GET /api/flows`'s report: queue depths and traffic; absent where this process has none */
  flows?: FlowsReport | undefined;
  /** how the counts were read, shown under the diagram */
  source: string;
}

export interface StatusPageProps {
  nonce: string;
  csrf: string;
  principal: Principal;
  now: Date;
  flow: FlowCounts;
  exceptions: DeskException[];
  orders: RecentOrder[];
  throughput: MinuteBucket[];
}

const n = (counts: Record<string, number>, ...statuses: string[]) => statuses.reduce((sum, s) => sum + (counts[s] ?? 0), 0);

/** A stage's queues, summed: messages waiting, and messages done in the last 5 minutes. */
interface QueueLoad { depth: number | null; done5m: number }

function loadOf(queues: readonly QueueFlow[]): QueueLoad | undefined {
  if (queues.length === 0) return undefined;
  const known = queues.filter((q) => q.depth !== null);
  return { depth: known.length === 0 ? null : known.reduce((sum, q) => sum + (q.depth ?? 0), 0), done5m: queues.reduce((sum, q) => sum + q.out.m5, 0) };
}

function Stage(props: { name: string; count: number; what: string; alert?: boolean; load?: QueueLoad | undefined }) {
  return (
    <div class={props.alert ? 'stage alert' : 'stage'} data-stage={props.name} title={props.what}>
      {props.name}
      <b>{props.count}</b>
      <span class="note">{props.what}</span>
      {props.load ? <span class="note queue-load"><br />queue {props.load.depth ?? '?'} · {props.load.done5m}/5 min</span> : null}
    </div>
  );
}

/**
 * The main line of the pipeline with what waits before each stage, and the side stages
 * beside it. A count under a stage is the orders whose next step is that stage's.
 */
function FlowDiagram(props: { flow: FlowCounts }) {
  const s = props.flow.ordersByStatus;
  const queues = props.flow.flows?.queues ?? [];
  const stageQueue = (stage: string) => loadOf(queues.filter((q) => q.kind === 'stage' && q.name.endsWith(`.stage.${stage}`)));
  const main = [
    { name: 'normalize', count: props.flow.inboundWaiting, what: 'deliveries stored', load: stageQueue('normalize') },
    { name: 'validate', count: n(s, 'received'), what: 'received', load: stageQueue('validate') },
    { name: 'allocate', count: n(s, 'validated'), what: 'validated', load: stageQueue('allocate') },
    { name: 'release', count: n(s, 'allocated', 'ready_to_ship'), what: 'allocated, awaiting payment', load: stageQueue('release') },
    { name: 'warehouses', count: n(s, 'released'), what: 'released', load: loadOf(queues.filter((q) => q.kind === 'outbound' && q.name.includes('.out.warehouse.'))) },
    { name: 'carriers', count: n(s, 'shipped'), what: 'shipped' },
    { name: 'delivered', count: n(s, 'delivered', 'completed'), what: 'delivered or completed' },
  ];
  return (
    <section aria-labelledby="flow-title">
      <h2 id="flow-title">Flow</h2>
      <div class="flow">
        {main.map((stage, i) => (
          <>
            {i > 0 ? <span class="arrow" aria-hidden="true">→</span> : null}
            <Stage name={stage.name} count={stage.count} what={stage.what} load={'load' in stage ? stage.load : undefined} />
          </>
        ))}
      </div>
      <div class="side">
        <Stage name="exceptions" count={props.flow.openExceptions} what="open" alert={props.flow.openExceptions > 0} />
        <Stage name="on hold" count={n(s, 'on_hold')} what="waiting for a person" alert={n(s, 'on_hold') > 0} />
        <Stage name="backorders" count={n(s, 'backordered')} what="waiting for stock" />
        <Stage name="rejected" count={n(s, 'rejected')} what="failed validation" />
        <Stage name="cancelled" count={n(s, 'cancelled')} what="cancelled" />
        <Stage name="returns" count={n(s, 'returned')} what="returned" />
        <Stage name="parked" count={queues.filter((q) => q.kind === 'parking').reduce((sum, q) => sum + (q.depth ?? 0), 0)} what="dead letters" alert={queues.some((q) => q.kind === 'parking' && (q.depth ?? 0) > 0)} />
        <Stage name="outbox" count={props.flow.outbox.pending} what={`unpublished, oldest ${props.flow.outbox.oldestSeconds}s`} alert={props.flow.outbox.oldestSeconds > 60} />
      </div>
      <p class="note">{props.flow.source}</p>
    </section>
  );
}

/** Every queue of the namespace with its depth and traffic, from the flows report. */
function QueueTable(props: { flows: FlowsReport | undefined }) {
  if (!props.flows) return null;
  const shown = props.flows.queues.filter((q) => q.kind !== 'wait' || (q.depth ?? 0) > 0);
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queues (traffic over the last 5 minutes)</h2>
      <table id="queues">
        <thead><tr><th>queue</th><th>kind</th><th>depth</th><th>consumers</th><th>in</th><th>out</th><th>retries</th><th>parked</th></tr></thead>
        <tbody>
          {shown.map((q) => (
            <tr data-queue={q.name}>
              <td>{q.name}</td><td>{q.kind}</td><td>{q.depth ?? '?'}</td><td>{q.consumers ?? '?'}</td>
              <td>{q.in.m5}</td><td>{q.out.m5}</td><td>{q.retries.m5}</td><td>{q.parked.m5}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ExceptionDesk(props: { exceptions: DeskException[]; csrf: string; now: Date }) {
  return (
    <section aria-labelledby="desk-title">
      <h2 id="desk-title">Exception desk ({props.exceptions.length} open, nearest deadline first)</h2>
      {props.exceptions.length === 0 ? <p id="no-exceptions">No open exceptions.</p> : (
        <table id="exceptions">
          <thead><tr><th>#</th><th>type</th><th>order</th><th>reason</th><th>owner</th><th>deadline</th><th></th></tr></thead>
          <tbody>
            {props.exceptions.map((x) => (
              <tr class={x.overdue ? 'overdue' : undefined} data-exception={String(x.id)}>
                <td>{x.id}</td>
                <td>{x.type}</td>
                <td>{x.orderNumber ?? x.orderId ?? '—'}</td>
                <td>{x.reason}</td>
                <td>{x.owner}</td>
                <td>
                  <time datetime={x.deadline.toISOString()}>{x.deadline.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>
                  {x.overdue ? <span class="overdue-tag"> overdue</span> : null}
                </td>
                <td>
                  <form method="post" action={`/ui/exceptions/${x.id}/resolve`}>
                    <input type="hidden" name="csrf" value={props.csrf} />
                    <input type="text" name="note" maxlength={500} placeholder="note" aria-label={`note for exception ${x.id}`} />
                    <button type="submit">Resolve</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RecentOrders(props: { orders: RecentOrder[] }) {
  return (
    <section aria-labelledby="orders-title">
      <h2 id="orders-title">Recent orders</h2>
      {props.orders.length === 0 ? <p>No orders yet.</p> : (
        <table id="recent-orders">
          <thead><tr><th>number</th><th>channel</th><th>status</th><th>payment</th><th>total</th><th>received</th></tr></thead>
          <tbody>
            {props.orders.map((o) => (
              <tr>
                <td>{o.orderNumber}</td><td>{o.channel}</td><td>{o.status}</td><td>{o.paymentStatus}</td>
                <td>{formatMinorUnits(o.grandTotal, o.currency)} {o.currency}</td>
                <td><time datetime={o.createdAt.toISOString()}>{o.createdAt.toISOString().slice(0, 19).replace('T', ' ')} UTC</time></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Bars per minute, received (left) and released (right), scaled to the busiest minute. */
function ThroughputChart(props: { buckets: MinuteBucket[] }) {
  const width = 10;
  const height = 100;
  const top = busiestMinute(props.buckets);
  const bar = (count: number) => Math.round((count / top) * height);
  const received = props.buckets.reduce((sum, b) => sum + b.received, 0);
  const released = props.buckets.reduce((sum, b) => sum + b.released, 0);
  return (
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">Throughput, last hour (per minute; busiest minute {top})</h2>
      <svg id="throughput" role="img" viewBox={`0 0 ${props.buckets.length * width} ${height + 14}`} width={props.buckets.length * width * 2} height={(height + 14) * 2} aria-label={`${received} orders received, ${released} released in the last hour`}>
        {props.buckets.map((b, i) => (
          <g>
            <title>{`${new Date(b.start).toISOString().slice(11, 16)} UTC: ${b.received} received, ${b.released} released`}</title>
            <rect class="received" x={i * width + 1} y={height - bar(b.received)} width="4" height={bar(b.received)} />
            <rect class="released" x={i * width + 5} y={height - bar(b.released)} width="4" height={bar(b.released)} />
          </g>
        ))}
        <text x="0" y={height + 12}>−{props.buckets.length} min</text>
        <text x={props.buckets.length * width} y={height + 12} text-anchor="end">now</text>
      </svg>
      <p class="note"><span class="legend-received">■</span> received: {received} · <span class="legend-released">■</span> released: {released}</p>
    </section>
  );
}

/** The whole status page for a logged-in session. */
export function StatusPage(props: StatusPageProps) {
  return (
    <Layout nonce={props.nonce} title="Order hub · status" refresh>
      <header>
        <h1>Order hub</h1>
        <span>
          {props.principal.name} ({props.principal.role}) · {props.now.toISOString().slice(0, 19).replace('T', ' ')} UTC
        </span>
        <form method="post" action="/logout">
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit">Log out</button>
        </form>
      </header>
      <main>
        <FlowDiagram flow={props.flow} />
        <ExceptionDesk exceptions={props.exceptions} csrf={props.csrf} now={props.now} />
        <ThroughputChart buckets={props.throughput} />
        <QueueTable flows={props.flow.flows} />
        <RecentOrders orders={props.orders} />
      </main>
    </Layout>
  );
}
