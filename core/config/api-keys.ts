import { createHash, randomBytes } from 'node:crypto';

/** An `apiKeys` entry of the config: the key's name, its role and the SHA-256 of its token. */
export interface ApiKeyEntry {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  sha256: string;
}

/**
 * The SHA-256 of a bearer token. The config keeps only this, so reading the config file
 * does not give anyone a working token; a token is long and random, so no salt is needed.
 */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * A new API key: a random token (32 bytes, base64url: fits an `Authorization` header as is)
 * to hand to whoever will call the API, and the config entry that admits it.
 */
export function newApiKey(name: string, role: ApiKeyEntry['role'], random: (bytes: number) => Buffer = randomBytes): { token: string; entry: ApiKeyEntry } {
  const token = random(32).toString('base64url');
  return { token, entry: { name, role, sha256: tokenDigest(token).toString('hex') } };
}
