/**
 * The device's own earlier edits of a record that a push batch knows of (docs/sync-design.md, "Known
 * limits"): the updates it decided, and the retried ones it answered `duplicate` of an earlier push —
 * so that a later edit from the same base merges as the device's later value over them.
 */
import { jsonEqual } from "../../records/json";
import type { AnyRecord } from "../../records/model";
import type { ParsedChange } from "../change";
import type { SeenChange } from "../repo";

/**
 * The version an earlier push of `c` wrote, when `c` is a retried update whose answer (`seen`) says
 * it wrote one (`applied`, `merged`, `conflict`); null otherwise.
 */
export function retriedUpdateVersion(c: ParsedChange, seen: SeenChange | undefined): number | null {
  const r = seen?.result;
  if (c.op !== "update" || !r || r.version === null || r.entity !== c.entity || r.entity_id !== c.entityId) return null;
  return r.status === "applied" || r.status === "merged" || r.status === "conflict" ? r.version : null;
}

/**
 * A field's value now without what the device's earlier push changed in it (`prior` → `after`): a
 * set (tags) loses what that push added and gets back what it removed, whatever others changed
 * since; another value is `prior` when nobody changed it since, else what the later write made of it.
 */
export function withoutOwnEdit(now: unknown, after: unknown, prior: unknown): unknown {
  if (Array.isArray(now) && Array.isArray(after) && Array.isArray(prior)) {
    const added = after.filter((x) => !prior.includes(x));
    const removed = prior.filter((x) => !after.includes(x));
    return [...new Set([...now.filter((x) => !added.includes(x)), ...removed])].sort();
  }
  return jsonEqual(now, after) ? prior : now;
}

/** One update of the device decided in this batch, or retried in it as a duplicate (`BatchState.beforeOwnEdits`, ./state.ts). */
export interface OwnEdit extends Pick<ParsedChange, "changeId" | "baseVersion" | "clock" | "data"> {
  /** The record before it; for a duplicate, its fields as they were before the earlier push wrote them, where nobody changed them since. */
  before: AnyRecord | undefined;
  duplicate: boolean;
}
