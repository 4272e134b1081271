/**
 * Which rule a part of a generated resource came from, so that a refused resource names
 * the rule that produced it (`VirtualService/default/reviews spec.http[2]`), not only a
 * field path inside an Envoy proto. Builders tag the objects they make; validators look
 * the nearest tagged ancestor up. Tags live beside the objects (a WeakMap), so resources
 * stay plain proto-shaped JSON and a copied object simply carries no tag.
 */
const origins = new WeakMap<object, string>();

/** Tags `o` as built from `origin` (a config key, optionally with a field path); returns `o`. */
export function withOrigin<T extends object>(o: T, origin: string): T {
  if (origin) origins.set(o, origin);
  return o;
}

export function originOf(o: unknown): string | undefined {
  return typeof o === 'object' && o !== null ? origins.get(o) : undefined;
}

/**
 * Every tagged object of a resource by its path (`virtual_hosts[0].routes[2]`), for
 * naming the origin of errors that only carry a path. Longest path first.
 */
export function originsByPath(resource: unknown): [string, string][] {
  const out: [string, string][] = [];
  const walk = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null) return;
    const o = originOf(v);
    if (o) out.push([path, o]);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(resource, '');
  return out.sort((a, b) => b[0].length - a[0].length);
}

/** `<error> (from <origin>)` when the error's leading path lies in a tagged object. */
export function attributeError(error: string, byPath: readonly [string, string][]): string {
  const at = error.indexOf(':');
  const path = at > 0 ? error.slice(0, at) : error;
  for (const [p, origin] of byPath) {
    if (p === '' || path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) return `${error} (from ${origin})`;
  }
  return error;
}
