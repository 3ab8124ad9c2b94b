/**
 * Vector clocks (contract: api-contract.md, "Sync / Vector clocks"): every record carries one; the
 * write core (src/records/write.ts) stamps it on every write, the sync engine compares them.
 *
 * Pure module: no I/O, no imports from the rest of the app. Every function
 * returns fresh objects whose keys are sorted, so equal clocks also serialize
 * identically whichever order their inputs arrived in.
 */

/** A vector clock: device id (or `server`) → positive counter. Missing keys count as 0. */
export type VectorClock = Record<string, number>;

/** Result of comparing the client's clock `a` with the server's clock `b`. */
export type ClockOrder = "EQUAL" | "BEFORE" | "AFTER" | "CONCURRENT";

/** The reserved key the server increments when it writes a record itself. */
export const SERVER_KEY = "server";

/** Most entries a clock may have; more makes the change `rejected`. */
export const MAX_CLOCK_ENTRIES = 1000;

/** Longest allowed clock key, in UTF-16 code units. */
const MAX_CLOCK_KEY_LENGTH = 100;

/**
 * Compares the client's clock `a` with the server's clock `b` (missing entries count as 0):
 * `BEFORE` = the server is newer, `AFTER` = the client is newer.
 */
export function compareClocks(a: VectorClock, b: VectorClock): ClockOrder {
  let aAhead = false;
  let bAhead = false;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = entry(a, key);
    const y = entry(b, key);
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
  }
  if (aAhead && bAhead) return "CONCURRENT";
  if (aAhead) return "AFTER";
  if (bAhead) return "BEFORE";
  return "EQUAL";
}

/** Entry-wise maximum of any number of clocks (the empty clock for no input). */
export function mergeClocks(...clocks: VectorClock[]): VectorClock {
  const max = new Map<string, number>();
  for (const clock of clocks) {
    for (const key of Object.keys(clock)) {
      const value = entry(clock, key);
      if (value > (max.get(key) ?? 0)) max.set(key, value);
    }
  }
  return sortedClock(max);
}

/**
 * The clock of a write the server makes itself (REST edit, merge, conflict resolution):
 * entry-wise max of `clocks`, then `server` + 1. Dominates every input; order independent.
 */
export function serverWrite(...clocks: VectorClock[]): VectorClock {
  const merged = new Map(Object.entries(mergeClocks(...clocks)));
  merged.set(SERVER_KEY, (merged.get(SERVER_KEY) ?? 0) + 1);
  return sortedClock(merged);
}

/** A counter a clock may hold: a positive safe integer. */
export const isClockCounter = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/** Outcome of {@link validateClock}: a normalized copy, or why the value is not a clock. */
export type ClockValidation = { ok: true; clock: VectorClock } | { ok: false; reason: string };

/**
 * Checks an untrusted value (e.g. from a push body): a plain object with at most
 * {@link MAX_CLOCK_ENTRIES} entries, keys non-empty and at most {@link MAX_CLOCK_KEY_LENGTH}
 * characters, every counter a positive safe integer. Returns a sorted copy on success.
 */
export function validateClock(value: unknown): ClockValidation {
  if (!isPlainObject(value)) return { ok: false, reason: "vector_clock must be an object" };
  const keys = Object.keys(value);
  if (keys.length > MAX_CLOCK_ENTRIES) {
    return { ok: false, reason: `vector_clock has more than ${MAX_CLOCK_ENTRIES} entries` };
  }
  const entries = new Map<string, number>();
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_CLOCK_KEY_LENGTH) {
      return { ok: false, reason: `vector_clock keys must be 1..${MAX_CLOCK_KEY_LENGTH} characters` };
    }
    const counter = (value as Record<string, unknown>)[key];
    if (!isClockCounter(counter)) {
      return { ok: false, reason: `vector_clock counter for "${key}" must be a positive integer` };
    }
    entries.set(key, counter);
  }
  return { ok: true, clock: sortedClock(entries) };
}

/** What {@link findForgedKey} needs to know about the push and the stored record. */
export interface ForgeCheck {
  /** The pushing device: the only key it may raise. */
  deviceId: string;
  /** Whether a key is a device of the caller's organization. */
  knownDevices: (key: string) => boolean;
  /** The record's clock as stored on the server, or null when the record is new. */
  stored: VectorClock | null;
}

/**
 * Returns the first key (in sorted order) of `clock` that is forged, or null: a key that is
 * neither `server` nor an organization device, or a counter for any key other than the
 * pushing device's own that is higher than the stored clock's (a new record stores nothing,
 * so on create every key but the device's own is forged).
 */
export function findForgedKey(clock: VectorClock, opts: ForgeCheck): string | null {
  const stored = opts.stored ?? {};
  for (const key of Object.keys(clock).sort()) {
    if (key === opts.deviceId) continue;
    if (key !== SERVER_KEY && !opts.knownDevices(key)) return key;
    if (entry(clock, key) > entry(stored, key)) return key;
  }
  return null;
}

/** Own-property lookup, so keys like `constructor` never read the prototype. */
function entry(clock: VectorClock, key: string): number {
  return Object.prototype.hasOwnProperty.call(clock, key) ? clock[key] : 0;
}

/** Builds a clock with sorted keys; `Object.fromEntries` defines keys safely (even `__proto__`). */
function sortedClock(entries: Map<string, number>): VectorClock {
  return Object.fromEntries([...entries].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
