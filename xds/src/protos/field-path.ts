/**
 * Where a walk over a resource is, as a stack of keys rendered only when an error is
 * reported: the checkers visit every field of every resource they validate, and a path
 * string built eagerly per field was most of what validating an assignment allocated.
 * Numbers render as list indexes (`[2]`), strings starting with `[` as they are (map
 * keys), other strings as field names.
 */
export class FieldPath {
  private readonly keys: (string | number)[] = [];

  push(key: string | number): void {
    this.keys.push(key);
  }

  pop(): void {
    this.keys.pop();
  }

  /** `virtual_hosts[0].routes[1].route`; '' at the root. */
  toString(): string {
    let out = '';
    for (const k of this.keys) {
      if (typeof k === 'number') out += `[${k}]`;
      else if (k.startsWith('[') || out === '') out += k;
      else out += `.${k}`;
    }
    return out;
  }
}
