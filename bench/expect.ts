/**
 * Content checks: a record the server answers (in a push result or a pull) must carry exactly the
 * fields the bench's clients wrote, not only the right id, version and clock.
 */
import { CheckError, sameClock, type PulledChange, type VectorClock } from "./client";

/** The fields a task's writer owns, as the bench last wrote them (`data` of the create, then each edit's). */
export type TaskContent = Record<string, unknown>;

/**
 * The first field of `expected` that `record` does not hold exactly, or null. Strings, numbers and
 * null compare with `===`, arrays element by element (no JSON: the checks run inside timed phases).
 */
export function contentMismatch(record: Record<string, unknown>, expected: TaskContent): string | null {
  for (const field in expected) {
    if (!sameValue(record[field], expected[field])) return field;
  }
  return null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks that `record` holds `expected`'s fields; `what` names the answer in the failure. */
export function checkContent(what: string, record: Record<string, unknown> | null | undefined, expected: TaskContent): void {
  if (!record || typeof record !== "object") throw new CheckError(`${what}: no record`);
  const field = contentMismatch(record, expected);
  if (field !== null) throw new CheckError(`${what}: ${field} is ${JSON.stringify(record[field])}, expected ${JSON.stringify(expected[field])}`);
}

/**
 * Checks one pulled task change against the state the bench wrote at that version (op, record id
 * and version, clock, content). Messages are built only on failure: this runs inside timed pulls.
 */
export function checkPulledTask(what: string, c: PulledChange, version: number, clock: VectorClock, content: TaskContent | undefined): void {
  const fail = (why: string): never => {
    throw new CheckError(`${what}: ${c.entity} ${c.entity_id} ${why}`);
  };
  if (c.entity !== "task") fail("is not a task");
  if (c.op !== "upsert") fail(`came as ${c.op}`);
  if (!c.record || c.record.id !== c.entity_id) fail("has no record with that id");
  if (c.version !== version || c.record.version !== version) fail(`at version ${c.version} (record ${c.record.version}), expected ${version}`);
  if (!sameClock(clock, c.vector_clock)) fail(`clock ${JSON.stringify(c.vector_clock)} ≠ ${JSON.stringify(clock)}`);
  if (content) checkContent(`${what}: task ${c.entity_id}`, c.record, content);
}
