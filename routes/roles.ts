import type { Role } from './principal.ts';

/** How roles order: each may do everything the ones below it may. */
const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether a key of role `held` may call a route that needs `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return rank[held] >= rank[needed];
}

/** A route that needs more than its method's default role, and why. */
export interface RoleRule {
  method: string;
  /** the route under `/api` as Hono writes it (`:name` matches one path segment) */
  path: string;
  role: Role;
  why: string;
}

/**
 * The routes that need the `admin` role. Everything else follows its method: a read
 * (`GET`, `HEAD`, `OPTIONS`) needs `viewer`; any other method, including on a route not
 * listed here or not known at all, needs `operator` — acting on orders, exceptions,
 * returns, dead letters, jobs, inbound replays, payments and one customer's preferences.
 */
export const roleRules: readonly RoleRule[] = [
  {
    method: 'PUT', path: '/api/products/:sku', role: 'admin',
    why: 'the catalogue: every channel\'s orders are validated, weighed and routed against it',
  },
  {
    method: 'PUT', path: '/api/inventory/:warehouse/:sku', role: 'admin',
    why: 'stock on hand: the allocation of every order trusts it, and setting it releases waiting backorders',
  },
  {
    method: 'POST', path: '/api/settlements/:provider', role: 'admin',
    why: 'a provider\'s whole settlement report, compared with the ledger in bulk: a finance import, not an action on one order',
  },
];

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

const segments = (path: string): string[] => path.replace(/\/+$/, '').split('/');

/** Whether a concrete request path is an instance of a rule's route pattern. */
function matches(pattern: string, path: string): boolean {
  const want = segments(pattern);
  const got = segments(path);
  return want.length === got.length && want.every((part, i) => (part.startsWith(':') ? got[i] !== '' : part === got[i]));
}

/** The role a request to `/api` needs: the rule naming its route, else its method's default. */
export function requiredRole(method: string, path: string): Role {
  const upper = method.toUpperCase();
  const rule = roleRules.find((r) => r.method === upper && matches(r.path, path));
  if (rule) return rule.role;
  return readMethods.has(upper) ? 'viewer' : 'operator';
}
