import type { Context } from 'hono';

/** What an API key may do: read (`viewer`), act on orders and exceptions (`operator`), change reference data and keys (`admin`). */
export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/** Who is calling the API: the API key's name and role (`admin` for HUB_ADMIN_TOKEN). */
export interface Principal {
  name: string;
  role: Role;
}

/**
 * The caller of an `/api` request, as the bearer-auth middleware set it. Audit entries and
 * timeline actors name it, so every write says whose key made it.
 */
export function principalOf(c: Context): Principal {
  return (c.get('principal' as never) as Principal | undefined) ?? { name: 'admin', role: 'admin' };
}

/** The actor an audit entry or a timeline line records for this request. */
export function actorOf(c: Context): string {
  return principalOf(c).name;
}
