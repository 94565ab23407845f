import type { Context } from 'hono';
import type { ErrorObject } from 'ajv';
import { badRequest } from '../core/errors.ts';

const controlCharacter = /\p{Cc}/u;

/** An ajv error as a problem: where, and what is wrong there. */
const defaultProblem = (e: ErrorObject) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' });

/**
 * Reads a JSON body and validates it; every failure is a 400 problem naming the fields.
 * `describe` turns an ajv error into a problem where a route can say more.
 */
export async function readBody<T>(
  c: Context,
  validate: ((v: unknown) => v is T) & { errors?: ErrorObject[] | null },
  describe: (e: ErrorObject) => { path: string; message: string } = defaultProblem,
): Promise<T> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw badRequest('malformed_json', 'the body is not valid JSON');
  }
  if (!validate(body)) throw badRequest('invalid_body', 'the body does not match the schema', { problems: (validate.errors ?? []).map(describe) });
  return body;
}

/** Optional single-valued query parameter, bounded in length. */
export function queryParam(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  if (value.length > 200) throw badRequest('invalid_query', `${name} is too long`);
  if (controlCharacter.test(value)) throw badRequest('invalid_query', `${name} contains control characters`);
  return value;
}
