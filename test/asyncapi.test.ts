// The AsyncAPI document (asyncapi/asyncapi.ts) against what the hub really does: it parses
// as AsyncAPI 3.0.0; it names every exchange and queue of the topology, with their
// arguments and bindings; every routing key bound has a message; every event type the
// source publishes or handles is documented (found by scanning core/ and routes/ with the
// TypeScript parser); a real fulfilment request validates against its schema. Pure: no
// broker, database or Redis.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { asyncApiDocument as doc, type ChannelObject, type MessageObject, type Ref } from '../asyncapi/asyncapi.ts';
import { hubTopology, names, stageBindings, type Stage } from '../core/messaging/topology.ts';
import type { DeliveryPlan } from '../core/pipeline/delivery-plan.ts';
import { releaseChange, type ShipmentRelease } from '../core/pipeline/release.ts';
import { orderMessages } from '../core/stages/apply.ts';
import type { StageContext } from '../core/stages/context.ts';
import { canonicalOrderSchema } from '../schemas/canonical-order.ts';
import { anOrder, anOrderRecord, orderLine, shippingAddress } from './support/orders.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOTTED = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)+$/;
const EVENTS = '{ns}.events';

// ---------------------------------------------------------------------------------------
// The source scan: every event type the hub publishes, and every one a handler reads.
// ---------------------------------------------------------------------------------------

/**
 * Where the hub sets message types: its core and its HTTP routes (operator API, webhooks).
 * Not counted as published, on purpose:
 * - timeline entries (`timeline: { type }`, `x.timeline = { type }`, `const timeline = { type }`, `appendOrderEvent(…)`):
 *   the order's history in Postgres, never sent (order.updated, payment.recorded, …);
 * - exception types (`exception: { type }`, `openException(…)`): snake_case, not events;
 * - audit actions (`appendAudit(…, { action: 'order.remedy' })`): not a `type`;
 * - connectors/: the channels' own topics (`order.created`, `payment_intent.succeeded`) are
 *   what the hub receives by HTTP, not what it publishes;
 * - topology.ts `stageBindings`: checked against the document by the topology tests.
 */
const SCANNED_DIRS = ['core', 'routes'];

/**
 * Message objects (`{ type, data }`, `cloudEvent({ type, … })`) whose type is not a literal:
 * where that type comes from, which the scan reads there instead. A new one fails the scan
 * until it is added here with its source scanned.
 */
const KNOWN_DYNAMIC: Readonly<Record<string, string>> = {
  'core/messaging/cloudevent.ts#cloudEvent': 'the constructor itself: each call of it is checked',
  'core/stages/apply.ts#orderMessages': 'the `emit` lists of an OrderChange: literal `{ type, data }` entries',
  'core/stages/stock.ts#stockMessage': "stockMessage(ctx, '<type>', data) calls",
  'core/intake.ts#acceptedMessage': "the `acceptedAs` / `type` parameter defaults and the webhook endpoints' `acceptedAs: '<type>'`",
};
/** Functions that hand a literal type on to one of those: the index of the type argument. */
const TYPE_ARGUMENT: Readonly<Record<string, number>> = { stockMessage: 1, sendStoredDelivery: 3, acceptDelivery: 3, acceptedMessage: 2 };
/** A non-literal type argument to those is fine when it is one of these (already scanned). */
const FORWARDED_TYPE = /(^|\.)(acceptedAs|type)$/;
/**
 * Dotted `type: '…'` literals outside a timeline entry that are NOT published, with why.
 * (Timeline entries — `timeline: {…}`, `x.timeline = {…}`, `appendOrderEvent(…)` — and
 * exception types, which are snake_case, are never counted.)
 */
const NOT_PUBLISHED: readonly { file: string; type: string; why: string }[] = [];

interface Site { type: string; routingKey?: string | undefined; at: string }
interface Scan { files: number; published: Site[]; handled: Site[]; unexplained: string[] }

function sourceFiles(): string[] {
  return SCANNED_DIRS.flatMap((dir) => readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f).split('\\').join('/')));
}

/** The parent, through parentheses and type assertions. */
function parentOf(node: ts.Node): ts.Node {
  let parent = node.parent;
  while (ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent) || ts.isSatisfiesExpression(parent)) parent = parent.parent;
  return parent;
}

/** The string literals an expression can be (`'a'`, `c ? 'a' : 'b'`), or null when it is computed. */
function literalsOf(expression: ts.Expression): string[] | null {
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return [expression.text];
  if (ts.isParenthesizedExpression(expression)) return literalsOf(expression.expression);
  if (ts.isConditionalExpression(expression)) {
    const [a, b] = [literalsOf(expression.whenTrue), literalsOf(expression.whenFalse)];
    return a && b ? [...a, ...b] : null;
  }
  return null;
}

/** `fulfillment.requested.${w}` → `fulfillment.requested.{*}` */
function routingKeyPattern(expression: ts.Expression): string {
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return expression.text;
  if (ts.isTemplateExpression(expression)) return expression.head.text + expression.templateSpans.map((s) => `{*}${s.literal.text}`).join('');
  return '{*}';
}

function propertyNamed(object: ts.ObjectLiteralExpression, name: string): ts.ObjectLiteralElementLike | undefined {
  return object.properties.find((p) => (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && p.name.getText() === name);
}

function isTimelineEntry(object: ts.ObjectLiteralExpression): boolean {
  const parent = parentOf(object);
  if (ts.isPropertyAssignment(parent) && parent.name.getText() === 'timeline') return true;
  // const timeline = {…}, or = cond ? {…} : undefined
  const declared = ts.isConditionalExpression(parent) ? parentOf(parent) : parent;
  if (ts.isVariableDeclaration(declared) && declared.name.getText() === 'timeline') return true;
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken && /(^|\.)timeline$/.test(parent.left.getText())) return true;
  return ts.isCallExpression(parent) && /(^|\.)appendOrderEvent$/.test(parent.expression.getText());
}

/** The nearest named function around a node (`function f`, `const f = () =>`, a method). */
function functionNameOf(node: ts.Node): string {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText();
    if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && ts.isVariableDeclaration(n.parent)) return n.parent.name.getText();
  }
  return '<top level>';
}

/** Adds what one source file publishes and reads to `scan`. */
function scanFile(scan: Scan, file: string, text: string): void {
  scan.files++;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const publish = (types: readonly string[], node: ts.Node, routingKey?: string) => {
    for (const type of types.filter((t) => DOTTED.test(t))) {
      if (NOT_PUBLISHED.some((x) => x.file === file && x.type === type)) continue;
      scan.published.push({ type, routingKey, at: at(node) });
    }
  };
  const visit = (node: ts.Node): void => {
    // { type: '<t>', data, routingKey? }: an emit entry, a notification, a cloudEvent(…)
    if (ts.isObjectLiteralExpression(node) && !isTimelineEntry(node)) {
      const type = propertyNamed(node, 'type');
      if (type) {
        const literals = ts.isPropertyAssignment(type) ? literalsOf(type.initializer) : null;
        const routingKey = propertyNamed(node, 'routingKey');
        if (literals) publish(literals, node, routingKey && ts.isPropertyAssignment(routingKey) ? routingKeyPattern(routingKey.initializer) : undefined);
        else if (propertyNamed(node, 'data') && !KNOWN_DYNAMIC[`${file}#${functionNameOf(node)}`]) {
          scan.unexplained.push(`${at(node)}: a message whose type is computed (${type.getText()}) in ${functionNameOf(node)}`);
        }
      }
    }
    // stockMessage(ctx, '<t>', …), acceptDelivery(…, '<t>'), sendStoredDelivery(…, '<t>')
    if (ts.isCallExpression(node)) {
      const callee = ts.isPropertyAccessExpression(node.expression) ? node.expression.name.text : node.expression.getText();
      const index = TYPE_ARGUMENT[callee];
      const argument = index === undefined ? undefined : node.arguments[index];
      if (argument) {
        const literals = literalsOf(argument);
        if (literals) publish(literals, node);
        else if (!FORWARDED_TYPE.test(argument.getText())) scan.unexplained.push(`${at(node)}: ${callee} is given a computed type (${argument.getText()})`);
      }
    }
    // acceptedAs: '<t>' (a webhook endpoint), acceptedAs = '<t>' / type = '<t>' (defaults)
    if ((ts.isParameter(node) && /^(acceptedAs|type)$/.test(node.name.getText())) || (ts.isPropertyAssignment(node) && node.name.getText() === 'acceptedAs')) {
      const literals = node.initializer ? literalsOf(node.initializer) : null;
      if (literals) publish(literals, node);
    }
    // what handlers read: case '<t>': in a switch on a type, x.type === '<t>'
    if (ts.isCaseClause(node) && /(^|\.)type$/.test(node.parent.parent.expression.getText())) {
      for (const t of literalsOf(node.expression) ?? []) if (DOTTED.test(t)) scan.handled.push({ type: t, at: at(node) });
    }
    if (ts.isBinaryExpression(node) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(node.operatorToken.kind)) {
      for (const [value, other] of [[node.right, node.left], [node.left, node.right]] as const) {
        if (!/(^|\.)type$/.test(other.getText())) continue;
        for (const t of literalsOf(value) ?? []) if (DOTTED.test(t)) scan.handled.push({ type: t, at: at(node) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

function scanSource(): Scan {
  const scan: Scan = { files: 0, published: [], handled: [], unexplained: [] };
  for (const file of sourceFiles()) scanFile(scan, file, readFileSync(join(ROOT, file), 'utf8'));
  return scan;
}

// ---------------------------------------------------------------------------------------
// Reading the document
// ---------------------------------------------------------------------------------------

/** What a local `$ref` points at, following references to references. */
function resolve<T>(ref: Ref): T {
  const target = ref.$ref.slice(2).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], doc);
  if (target === undefined) throw new Error(`${ref.$ref} points at nothing (asyncapi/asyncapi.ts must document it)`);
  return (typeof (target as Partial<Ref>).$ref === 'string' ? resolve(target as Ref) : target) as T;
}
/** A message's name; a reference to a message that is not documented reads as such, so one gap does not hide the others. */
function messageName(ref: Ref): string {
  try {
    return resolve<MessageObject>(ref).name;
  } catch {
    return `<${ref.$ref}: not documented>`;
  }
}
const messageNamesOf = (channel: ChannelObject): string[] => Object.values(channel.messages).map(messageName);
const channelOf = (ref: Ref): ChannelObject => resolve<ChannelObject>(ref);

/** `{ns}.wait.{delayMs}` → /^(?<ns>[^.]+)\.wait\.(?<delayMs>[^.]+)$/ */
function templateRegExp(template: string): RegExp {
  const source = template.split(/(\{\w+\})/).map((part) => (/^\{\w+\}$/.test(part)
    ? `(?<${part.slice(1, -1)}>[^.]+)`
    : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`);
}
const fill = (template: string, params: Record<string, string>, unbound?: string): string =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? unbound ?? whole);
/** Parameters and `{*}` alike, to compare a routing-key template with a scanned pattern. */
const shape = (template: string): string => template.replace(/\{[\w*]+\}/g, '{}');

/** AMQP topic matching: `*` one word, `#` zero or more. */
function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

const channels = Object.entries(doc.channels).map(([id, channel]) => ({ id, channel, amqp: channel.bindings.amqp }));
const queueChannels = channels.filter((c) => c.amqp.is === 'queue').map((c) => ({ ...c, name: c.amqp.queue!.name }));
const exchangeChannels = channels.filter((c) => c.amqp.is === 'routingKey');
const routingKeyChannels = exchangeChannels.filter((c) => c.amqp.exchange!.name === EVENTS);
const operations = Object.entries(doc.operations).map(([id, operation]) => ({ id, operation, channel: channelOf(operation.channel) }));

/** The documented queue a declared queue is, with the parameters its name gives. */
function documentedQueue(name: string) {
  const found = queueChannels.flatMap((q) => {
    const match = templateRegExp(q.name).exec(name);
    return match ? [{ ...q, params: { ...match.groups } }] : [];
  });
  expect(found.map((q) => q.id), `the documented queue(s) named like ${name}`).toHaveLength(1);
  return found[0]!;
}

const TOPOLOGY_NS = 'ns';
const topology = hubTopology(TOPOLOGY_NS, { retryDelaysMs: [1000, 5000], warehouses: ['w1'], carriers: ['c1'] });
const asStrings = (values: Record<string, unknown>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
const sortBindings = (bindings: { exchange: string; routingKey: string }[]) =>
  [...bindings].sort((a, b) => `${a.exchange} ${a.routingKey}`.localeCompare(`${b.exchange} ${b.routingKey}`));

// ---------------------------------------------------------------------------------------

describe('the AsyncAPI document', () => {
  it('parses as AsyncAPI 3.0.0 with @asyncapi/parser, without errors', async () => {
    // given the document as it is served (JSON)
    const json = JSON.stringify(doc);
    expect(JSON.parse(json)).toStrictEqual(doc); // plain JSON: nothing undefined, no functions
    // when the reference parser reads it
    const { document, diagnostics } = await new Parser().parse(json);
    // then nothing is an error; anything else is shown
    type Diagnostic = (typeof diagnostics)[number];
    const show = (d: Diagnostic) => `${String(d.code)}: ${d.message} (at ${d.path.join('/') || '/'})`;
    // (the parser's DiagnosticSeverity and spectral's are separate copies of one enum)
    const isError = (d: Diagnostic) => Number(d.severity) === Number(DiagnosticSeverity.Error);
    const others = diagnostics.filter((d) => !isError(d));
    if (others.length > 0) console.warn(`AsyncAPI diagnostics that are not errors:\n${others.map((d) => `  [${DiagnosticSeverity[Number(d.severity)] ?? d.severity}] ${show(d)}`).join('\n')}`);
    expect(diagnostics.filter(isError).map(show)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(document?.operations().length).toBe(operations.length);
    expect(document?.channels().length).toBe(channels.length);
  });

  it('names every queue of the topology, with its arguments and bindings', () => {
    for (const declared of topology.queues) {
      // given a queue the hub declares: the one documented queue named like it
      const documented = documentedQueue(declared.name);
      expect(documented.channel.address).toBe(documented.name);
      // then its arguments are the documented ones (parameters filled in) …
      const args = Object.fromEntries(Object.entries(documented.amqp['x-arguments'] ?? {}).map(([k, v]) => [k, fill(String(v), documented.params)]));
      expect(args, `arguments of ${declared.name}`).toEqual(asStrings(declared.arguments));
      expect(documented.amqp.queue, declared.name).toMatchObject({ durable: true, exclusive: false, autoDelete: false });
      // … and so are its bindings
      const bindings = (documented.amqp['x-bindings'] ?? []).map((b) => ({ exchange: fill(b.exchange, documented.params), routingKey: fill(b.routingKey, documented.params) }));
      expect(sortBindings(bindings), `bindings of ${declared.name}`).toEqual(sortBindings(declared.bindings));
    }
    // and nothing is documented that is not declared
    for (const q of queueChannels) expect(topology.queues.some((d) => templateRegExp(q.name).test(d.name)), `${q.name} is declared`).toBe(true);
  });

  it('names every exchange of the topology, with its type', () => {
    const documented = new Map(exchangeChannels.map((c) => [c.amqp.exchange!.name, c.amqp.exchange!]));
    for (const declared of topology.exchanges) {
      const matches = [...documented.values()].filter((e) => templateRegExp(e.name).test(declared.name));
      expect(matches, `the documented exchange named like ${declared.name}`).toHaveLength(1);
      expect(matches[0], declared.name).toMatchObject({ type: declared.type, durable: true, autoDelete: false });
    }
    for (const name of documented.keys()) expect(topology.exchanges.some((e) => templateRegExp(name).test(e.name)), `${name} is declared`).toBe(true);
  });

  it('documents a message for every routing key the topology binds on the events exchange', () => {
    const events = names(TOPOLOGY_NS).events;
    let checked = 0;
    for (const declared of topology.queues) {
      const queue = documentedQueue(declared.name);
      for (const binding of declared.bindings.filter((b) => b.exchange === events)) {
        // given a routing key bound to a queue: the routing-key channels it takes messages from
        const carrying = routingKeyChannels.filter((c) => topicMatches(binding.routingKey, fill(c.channel.address, queue.params, 'x')));
        const carried = carrying.flatMap((c) => messageNamesOf(c.channel));
        expect(carried, `messages routed by ${binding.routingKey} to ${declared.name}`).not.toHaveLength(0);
        // then the queue documents every one of them
        expect(messageNamesOf(queue.channel), `messages of ${declared.name}`).toEqual(expect.arrayContaining(carried));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(Object.values(stageBindings).flat().length);
  });

  it('has the hub consume every queue it consumes, each message of the queue', () => {
    const consumed = [
      ...(Object.keys(stageBindings) as Stage[]).map((stage) => names(TOPOLOGY_NS).stage(stage)),
      names(TOPOLOGY_NS).warehouseEvents,
      names(TOPOLOGY_NS).parkingAudit,
      names(TOPOLOGY_NS).warehouse('w1'), // pushed to the WMS of a warehouse with `integration: http`
    ];
    for (const name of consumed) {
      const queue = documentedQueue(name);
      const receives = operations.filter((o) => o.operation.action === 'receive' && o.operation.channel.$ref === `#/channels/${queue.id}`);
      expect(receives.map((o) => o.id), `the hub's receive operation on ${name}`).toHaveLength(1);
      const received = receives[0]!.operation.messages.map((ref) => messageName(ref));
      expect(received.sort(), name).toEqual(messageNamesOf(queue.channel).sort());
    }
  });

  it('documents each event message consistently: name, AMQP type, CloudEvent type, content type', () => {
    for (const [key, message] of Object.entries(doc.components.messages)) {
      expect(message.contentType, key).toBe('application/cloudevents+json');
      if (!DOTTED.test(key)) continue; // RetriedEvent, ParkedEvent: any type
      expect(message.name, key).toBe(key);
      expect(message.bindings?.amqp.messageType, key).toBe(key);
      const [envelope, own] = (message.payload as { allOf: [Ref, { properties: { type: { const: string }; data: unknown } }] }).allOf;
      expect(envelope.$ref, key).toMatch(/^#\/components\/schemas\/(Inbound)?CloudEvent$/);
      expect(own.properties.type.const, key).toBe(key);
      expect(own.properties.data, key).toBeDefined();
    }
  });
});

/** type → the addresses of the `{ns}.events` routing keys the document has the hub publish it on */
function publishedByDocument(): Map<string, string[]> {
  const byType = new Map<string, string[]>();
  for (const { operation, channel } of operations) {
    if (operation.action !== 'send' || channel.bindings.amqp.exchange?.name !== EVENTS) continue;
    for (const ref of operation.messages) {
      const type = messageName(ref);
      byType.set(type, [...(byType.get(type) ?? []), channel.address]);
    }
  }
  return byType;
}
/** Published types the document does not have the hub publish, or not on that routing key. */
function undocumentedPublished(sites: readonly Site[]): string[] {
  const documented = publishedByDocument();
  return sites.flatMap((site) => {
    const addresses = documented.get(site.type);
    const routingKey = site.routingKey ?? site.type;
    if (!addresses) return [`${site.type} (${site.at}): no message documented as published on ${EVENTS}`];
    if (!addresses.some((a) => shape(a) === shape(routingKey))) return [`${site.type} (${site.at}): published with routing key ${routingKey}, documented on ${addresses.join(', ')}`];
    return [];
  });
}
/** Types handlers read that no receive operation of the document carries. */
function undocumentedHandled(sites: readonly Site[]): string[] {
  const received = new Set(operations.filter((o) => o.operation.action === 'receive').flatMap((o) => o.operation.messages.map((ref) => messageName(ref))));
  return sites.filter((s) => !received.has(s.type)).map((s) => `${s.type} (${s.at}): no receive operation of the hub carries it`);
}

describe('the AsyncAPI document against the source', () => {
  let scan: Scan;
  beforeAll(() => {
    scan = scanSource();
  });

  it('finds where types are set, with nothing computed it cannot follow', () => {
    // the scan is not vacuous: it sees the well-known publishers of each kind
    expect(scan.files).toBeGreaterThan(20);
    const seen = (type: string) => scan.published.filter((s) => s.type === type);
    expect(seen('fulfillment.requested').map((s) => s.routingKey)).toContain('fulfillment.requested.{*}'); // emit entry with its routing key
    expect(seen('inventory.low')).not.toHaveLength(0); // stockMessage(ctx, '<type>')
    expect(seen('inbound.accepted')).not.toHaveLength(0); // acceptedAs / parameter default
    expect(seen('payment.received')).not.toHaveLength(0); // webhook endpoint and the operator API
    expect(seen('customer.notification_requested')).not.toHaveLength(0); // notification()
    expect(scan.handled.map((s) => s.type)).toContain('inventory.adjusted');
    // timeline entries are not events
    expect(scan.published.map((s) => s.type)).not.toContain('payment.recorded');
    expect(scan.unexplained).toEqual([]);
  });

  it('documents every event type the source publishes, on its routing key', () => {
    expect(undocumentedPublished(scan.published)).toEqual([]);
  });

  it('documents nothing as published that the source no longer publishes', () => {
    const published = new Set(scan.published.map((s) => s.type));
    expect([...publishedByDocument().keys()].filter((t) => !published.has(t))).toEqual([]);
  });

  it('documents every event type a handler of the hub reads, as a message the hub receives', () => {
    expect(undocumentedHandled(scan.handled)).toEqual([]);
  });

  it('catches an undocumented type, routing key, computed type or handled type (a made-up source file)', () => {
    // given a stage someone adds without touching the document
    const made: Scan = { files: 0, published: [], handled: [], unexplained: [] };
    scanFile(made, 'core/stages/teleport.ts', [
      'export function teleportChange(record) {',
      '  return {',
      "    timeline: { type: 'order.teleporting', reason: 'a timeline entry, not an event' },",
      "    emit: [{ type: 'order.teleported', data: { orderId: record.id } }, { type: 'fulfillment.requested', routingKey: `fulfillment.beamed.${record.warehouse}`, data: {} }],",
      '  };',
      '}',
      "export const beam = (ctx, data) => cloudEvent({ id: ctx.newId(), source: 's', type: pick(data), time: ctx.now(), data });",
      "export function handle(event) { return event.type === 'order.beamed'; }",
    ].join('\n'));
    // then the scan sees the new event, the new routing key, the computed type and the handled type
    expect(made.published.map((s) => s.type)).toEqual(['order.teleported', 'fulfillment.requested']);
    expect(undocumentedPublished(made.published)).toEqual([
      expect.stringContaining('order.teleported (core/stages/teleport.ts:4): no message documented'),
      expect.stringContaining('published with routing key fulfillment.beamed.{*}'),
    ]);
    expect(made.unexplained).toEqual([expect.stringContaining('core/stages/teleport.ts:7: a message whose type is computed (type: pick(data)) in beam')]);
    expect(undocumentedHandled(made.handled)).toEqual([expect.stringContaining('order.beamed (core/stages/teleport.ts:8)')]);
  });
});

describe('the message schemas', () => {
  const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true });
  addFormats.default(ajv);
  // the components alone: the document's own `id` would be read as a (draft-04) schema id
  ajv.addSchema({ $id: 'https://order-hub.local/asyncapi.json', components: structuredClone(doc.components) });
  const payloadOf = (message: string): ValidateFunction => ajv.compile({ $ref: `https://order-hub.local/asyncapi.json#/components/messages/${message}/payload` });
  const problems = (validate: ValidateFunction) => (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);

  const now = new Date('2026-01-15T12:00:00Z');
  const ground: DeliveryPlan = { carrier: 'ups', serviceLevel: 'ground', transitDays: 5, promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-22', rule: 'cheapest' };
  const express: DeliveryPlan = { carrier: 'ups', serviceLevel: '2day', transitDays: 2, promisedShipDate: '2026-01-16', promisedDeliveryDate: '2026-01-20', rule: 'fastest' };
  const ctx = { namespace: TOPOLOGY_NS, now: () => now, newId: () => randomUUID() } as Pick<StageContext, 'namespace' | 'now' | 'newId'> as StageContext;

  function fulfilmentRequests() {
    // given a paid order allocated to two warehouses: tees and mug from us-east, the lamp from us-west
    const order = anOrder({
      lines: [orderLine('TEE', 2, { name: 'T-shirt black M' }), orderLine('MUG', 1, { name: 'Classic mug' }), orderLine('LAMP', 1, { name: 'Arc lamp' })],
      shippingAddress: shippingAddress('US', 'KY'),
      notes: 'leave at the door',
    });
    const record = anOrderRecord(order, { status: 'allocated', paymentStatus: 'paid', warehouse: 'us-east', orderNumber: 'HUB-20260115-000042' });
    const shipments: ShipmentRelease[] = [
      { warehouse: 'us-east', lines: [{ warehouse: 'us-east', sku: 'TEE', quantity: 2 }, { warehouse: 'us-east', sku: 'MUG', quantity: 1 }], delivery: ground },
      { warehouse: 'us-west', lines: [{ warehouse: 'us-west', sku: 'LAMP', quantity: 1 }], delivery: express },
    ];
    // when it is released: the messages the release stage writes to the outbox
    const change = releaseChange(record, shipments, now);
    expect(change).not.toBeNull();
    return orderMessages(ctx, 'release', record.id, change!.emit);
  }

  it('a real fulfilment request (releaseChange, as the outbox holds it) validates against fulfillment.requested', () => {
    const validate = payloadOf('fulfillment.requested');
    const messages = fulfilmentRequests();
    expect(messages).toHaveLength(2);
    const channel = doc.channels['events.fulfillment.requested']!;
    for (const message of messages) {
      // then the CloudEvent, envelope and data, is what the document says
      expect(validate(message.event), problems(validate).join('; ')).toBe(true);
      // and it goes where the document says: {ns}.events, routing key fulfillment.requested.{code}
      expect(message.exchange).toBe(fill(channel.bindings.amqp.exchange!.name, { ns: TOPOLOGY_NS }));
      expect(message.routingKey).toBe(fill(channel.address, { code: (message.event.data as { warehouse: string }).warehouse }));
    }
  });

  it('the fulfillment.requested schema is strict: a missing or an unknown field fails', () => {
    const validate = payloadOf('fulfillment.requested');
    const event = fulfilmentRequests()[0]!.event as { data: Record<string, unknown> };
    const without = structuredClone(event);
    delete without.data.warehouse;
    expect(validate(without)).toBe(false);
    const extra = structuredClone(event);
    extra.data.somethingNew = 1;
    expect(validate(extra)).toBe(false);
    const notCloudEvent = { ...structuredClone(event), specversion: '0.3' };
    expect(validate(notCloudEvent)).toBe(false);
  });

  it('every example in the document validates against its message', () => {
    let examples = 0;
    for (const [key, message] of Object.entries(doc.components.messages)) {
      for (const example of message.examples ?? []) {
        const validate = payloadOf(key);
        expect(validate(example.payload), `${key} example ${example.name}: ${problems(validate).join('; ')}`).toBe(true);
        examples++;
      }
    }
    expect(examples).toBeGreaterThan(0);
  });

  it('embeds the canonical order schema of schemas/canonical-order.ts', () => {
    expect(doc.components.schemas.CanonicalOrder).toEqual({ ...canonicalOrderSchema, $id: undefined });
  });
});
