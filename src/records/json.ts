/** Comparisons of JSON values (pure: no imports, no I/O), for the write core and the sync engine. */

/** Structural equality of JSON-like values (key order ignored; `undefined` properties count as absent, as in JSON text). */
export function jsonEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x) && Array.isArray(y)) {
    return x.length === y.length && x.every((v, i) => jsonEqual(v, y[i]));
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  const xKeys = Object.keys(xo).filter((k) => xo[k] !== undefined);
  const yKeys = Object.keys(yo).filter((k) => yo[k] !== undefined);
  if (xKeys.length !== yKeys.length) return false;
  return xKeys.every((k) => Object.prototype.hasOwnProperty.call(yo, k) && jsonEqual(xo[k], yo[k]));
}

/** The keys of `data` whose value differs from `record`'s, sorted. */
export function changedKeys(data: Record<string, unknown>, record: object): string[] {
  const r = record as Record<string, unknown>;
  return Object.keys(data)
    .filter((k) => !jsonEqual(data[k], r[k]))
    .sort();
}
