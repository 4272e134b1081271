import { readFile } from 'node:fs/promises';
import type { User } from '@kubernetes/client-node';

/*
 * Bound service-account tokens rotate (kubelet rewrites the file about hourly). client-node
 * 1.4 reads a `tokenFile` auth provider (its in-cluster user) through FileAuth, which keeps
 * the token for 60 s and cannot be told to drop it, so after a rotation that the server
 * enforces at once it keeps sending a refused token (401) for up to a minute. client-go
 * re-reads on 401. Simpler still: re-read the file for every request — a few bytes, and
 * requests are rate limited — so the token sent is always the file's current one.
 */

/**
 * The token file of a user with client-node's `tokenFile` auth provider (the in-cluster
 * user), if any. Not when the user also has a static token: client-node sends that one.
 */
export function tokenFileOf(user: User | null | undefined): string | undefined {
  const provider = user?.authProvider as { name?: unknown; config?: { tokenFile?: unknown } } | undefined;
  const file = provider?.name === 'tokenFile' ? provider.config?.tokenFile : undefined;
  return typeof file === 'string' && file && !user?.token ? file : undefined;
}

/** The file's token, trimmed (as client-go does: a trailing newline is not part of it, and Node refuses it in a header). */
export async function readTokenFile(path: string): Promise<string> {
  const token = (await readFile(path, 'utf8')).trim();
  if (!token) throw new Error(`the token file ${path} is empty`);
  return token;
}
