import { isIP } from 'node:net';

/** Domain appended to short names, as Istio does on Kubernetes (`reviews` → `reviews.<ns>.svc.cluster.local`). */
export const DEFAULT_DOMAIN = 'cluster.local';

/**
 * Resolves a host as written in a rule to a mesh hostname. A short name (no dot) is read
 * in the rule's namespace — Istio's rule, whatever namespace the service really lives in —
 * so `greeter` in namespace `default` is `greeter.default.svc.cluster.local`. Names with a
 * dot, wildcards and IP addresses are used as written.
 */
export function resolveHost(host: string, namespace: string, domain = DEFAULT_DOMAIN): string {
  if (host === '*' || host.includes('.') || isIP(host) !== 0) return host;
  return `${host}.${namespace}.svc.${domain}`;
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/**
 * Whether a rule host selects a service host. `*.example.com` matches every name under
 * `example.com` at any depth (Istio's suffix semantics), never `example.com` itself.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return false;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a host name the way Istio does: lowercase DNS-1123 labels separated by dots,
 * at most 255 characters, optionally a `*.` wildcard prefix. Returns the problem, or
 * undefined when the name is fine.
 */
export function hostProblem(host: string, opts: { allowWildcard: boolean }): string | undefined {
  if (host === '') return 'must not be empty';
  if (host === '*') {
    return opts.allowWildcard
      ? 'the bare wildcard "*" would capture every host; use a domain wildcard such as "*.example.com"'
      : 'must name one service; wildcards are not allowed here';
  }
  let name = host;
  if (host.startsWith('*')) {
    if (!opts.allowWildcard) return 'must name one service; wildcards are not allowed here';
    if (!host.startsWith('*.')) return `${JSON.stringify(host)} is not a valid host: a wildcard must be a whole first label, as in "*.example.com"`;
    name = host.slice(2);
  }
  if (host.length > 255) return `${JSON.stringify(host)} is not a valid host: longer than 255 characters`;
  for (const label of name.split('.')) {
    if (label.length > 63 || !DNS_LABEL.test(label)) {
      return `${JSON.stringify(host)} is not a valid host: each dot-separated part must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

/** True for an IPv4 or IPv6 literal (no CIDR suffix, no port). */
export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}

/** True for `a.b.c.d/nn` or an IPv6 prefix, or a bare IP address. */
export function isIpOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return isIpAddress(s);
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label). */
export function objectNameProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be at most 253 characters';
  for (const label of name.split('.')) {
    if (!DNS_LABEL.test(label)) {
      return `${JSON.stringify(name)} is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

export function dnsLabelProblem(value: string): string | undefined {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    return `${JSON.stringify(value)} is not a valid name: use 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`;
  }
  return undefined;
}
