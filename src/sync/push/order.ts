/**
 * The order in which a push batch decides its changes (pure: no I/O). Changes are decided in the
 * order sent, except that a record's create comes forward to just before the first change that
 * references it (a comment before the create of its task, a task before the create of its project):
 * sent the other way round, the reference would be refused as naming no record, and a device that
 * sends its queue grouped by kind is as honest as one that keeps its order. Answers stay in the
 * order sent; pulls then deliver the created record before what references it.
 *
 * A create comes forward only when nothing of the batch before it is about its record and its
 * change_id was not used before it in the batch: moving it can then change no other change's outcome
 * but those that reference it.
 */
import { REFERENCES } from "../../records/refs";
import type { EntityKind } from "../../records/model";
import type { ParseResult } from "../change";

/** A record's key in a batch's maps (here and in `state.ts`): its kind and id. */
export const recordKey = (kind: EntityKind, id: string) => `${kind}:${id}`;

/** The indexes of `parsed` in the order to decide them: `[0, 1, …]` unless a create must come forward. */
export function decisionOrder(parsed: readonly ParseResult[]): number[] {
  const firstTouch = new Map<string, number>();
  const firstUse = new Map<string, number>();
  parsed.forEach((p, i) => {
    const changeId = p.ok ? p.change.changeId : p.malformed.changeId;
    if (changeId !== null && !firstUse.has(changeId)) firstUse.set(changeId, i);
    if (p.ok && !firstTouch.has(recordKey(p.change.entity, p.change.entityId))) firstTouch.set(recordKey(p.change.entity, p.change.entityId), i);
  });
  /** A create that may come forward: the first change of the batch about its record, and the first use of its change_id. */
  const movable = new Map<string, number>();
  for (const [key, i] of firstTouch) {
    const p = parsed[i]!;
    if (p.ok && p.change.op === "create" && firstUse.get(p.change.changeId) === i) movable.set(key, i);
  }

  /** The batch's movable creates of the records change `i` references. */
  const references = (i: number): number[] => {
    const p = parsed[i]!;
    if (!p.ok) return [];
    const found: number[] = [];
    for (const { field, to } of REFERENCES[p.change.entity]) {
      const id = p.change.data[field];
      if (to === "user" || typeof id !== "string") continue;
      const at = movable.get(recordKey(to, id));
      if (at !== undefined && at !== i) found.push(at);
    }
    return found;
  };
  if (!parsed.some((_, i) => references(i).some((at) => at > i))) return parsed.map((_, i) => i);

  const order: number[] = [];
  const placed = new Set<number>();
  const placing = new Set<number>();
  const place = (i: number): void => {
    if (placed.has(i) || placing.has(i)) return; // placing: a cycle of references, which no order satisfies
    placing.add(i);
    // Before i, every create it references that is not placed yet: one sent later, or (when i itself
    // came forward) one sent between i's new place and its old one.
    for (const at of references(i)) place(at);
    placing.delete(i);
    placed.add(i);
    order.push(i);
  };
  parsed.forEach((_, i) => place(i));
  return order;
}
