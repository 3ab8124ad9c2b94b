/**
 * Checks one pushed change on its own (pure: no I/O): its shape, ids, operation, clock and the
 * values of its `data` (with the write core's field rules, `checkFields`). A malformed change
 * becomes a rejection with a reason; the rest of the batch goes on.
 */
import { isUuid } from "../ids";
import { validateClock, type VectorClock } from "../records/clock";
import { ENTITY_KINDS, type EntityKind, isEntityKind } from "../records/model";
import { checkFields, failureDetails, failureMessage, type FieldFailures, MAX_FIELD_ERRORS } from "../records/validate";
import { CHANGE_OPS, type ChangeError, type ChangeErrorCode, type ChangeOp, PushedChange } from "./model";
import { REQUIRED_REASON } from "../wire/reasons";
import { MAX_MORE_FIELDS } from "../records/value-errors";

/** A well-formed change, its `data` normalized (due dates in storage form, tags de-duplicated). */
export interface ParsedChange {
  changeId: string;
  entity: EntityKind;
  entityId: string;
  op: ChangeOp;
  data: Record<string, unknown>;
  baseVersion: number | null;
  clock: VectorClock;
  /** SHA-256 of the canonical payload (everything but change_id): tells a retry from a reused id ({@link payloadHash}). */
  hash: string;
  /** The hash as computed before 2026-12-06 ({@link earlierPayloadHash}), when it differs: an answer remembered then still matches. */
  earlierHash?: string;
  /**
   * True when normalizing `data` changed it (a due date converted to UTC, a duplicate tag dropped…):
   * the record the change leaves is then not exactly what the device holds, so an `applied` write
   * of it is not left out of the device's own pulls.
   */
  normalized?: boolean;
}

/** A change that cannot be processed: the ids it carried (when readable) and why. */
export interface MalformedChange {
  /** The change_id when it is a UUID (the rejection is then remembered like any result), else null. */
  changeId: string | null;
  /** The raw change_id, entity and entity_id when they are strings, echoed in the answer. */
  rawChangeId: string | null;
  entity: string | null;
  entityId: string | null;
  hash: string | null;
  earlierHash?: string;
  /** See {@link ChangeHashes.ownKeysHashes}. */
  ownKeysHashes?: string[];
  error: ChangeError;
}

/** The hashes a change_id's remembered answer is compared with: the same payload is a retry. */
export type ChangeHashes = Pick<ParsedChange, "earlierHash"> & {
  hash: string | null;
  /**
   * A change with keys beside its own (rejected for them): the hashes of its own keys only, which
   * answers remembered before 2026-12-07 hold (the hash left other keys out then). They match only a
   * remembered rejection naming the same keys, that change's own: never another change's answer.
   */
  ownKeysHashes?: string[];
  /** The change's own rejection, when it is malformed. */
  error?: ChangeError;
};

/**
 * True when the remembered answer (its payload hash `stored`, its `error` if it was rejected) is
 * the payload of `c`: a retry, not a reused change_id.
 */
export function isSamePayload(stored: string, storedError: ChangeError | undefined, c: ChangeHashes): boolean {
  if (stored === c.hash || stored === c.earlierHash) return true;
  if (!c.ownKeysHashes?.includes(stored) || storedError === undefined || c.error === undefined) return false;
  return storedError.code === c.error.code && canonicalJson(storedError.details ?? {}) === canonicalJson(c.error.details);
}

export type ParseResult = { ok: true; change: ParsedChange } | { ok: false; malformed: MalformedChange };

/** The keys a change may have (the model's properties): as a request body's fields, any other is refused (naming it). */
const CHANGE_KEYS: ReadonlySet<string> = new Set(Object.keys(PushedChange.properties));

/** A change's own keys but its change_id: what hashes remembered before 2026-12-07 covered ({@link ownKeysOf}). */
const OWN_PAYLOAD_KEYS = [...CHANGE_KEYS].filter((key) => key !== "change_id");

/** Checks a raw change from a push body. */
export function parseChange(raw: unknown): ParseResult {
  if (!isPlainObject(raw)) return bad(null, null, null, null, "invalid_change", "a change must be a JSON object");
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  const rawChangeId = str(raw.change_id);
  const changeId = isUuid(raw.change_id) ? raw.change_id : null;
  const entity = str(raw.entity);
  const entityId = str(raw.entity_id);
  const payload = changeId === null ? null : payloadOf(raw);
  const kept = payload && meaningful(payload);
  const hash = kept && hashOf(kept);
  // The earlier hash only differs (and is only computed) when something was left out.
  const earlierHash = payload !== null && kept !== payload ? hashOf(payload) : undefined;
  const reject = (code: ChangeErrorCode, message: string, details?: Record<string, unknown>): ParseResult =>
    bad(changeId, rawChangeId, entity, entityId, code, message, { hash, earlierHash }, details);

  /** A rejection naming the one key of the change at fault, as validation errors name fields. */
  const rejectKey = (code: ChangeErrorCode, key: string, reason: string): ParseResult => reject(code, `${key} ${reason}`, { fields: { [key]: reason } });

  if (changeId === null) return rejectKey("invalid_change", "change_id", "must be a UUID");
  if (!isEntityKind(raw.entity)) return rejectKey("unknown_entity", "entity", `must be ${orList(ENTITY_KINDS)}`);
  if (!isChangeOp(raw.op)) return rejectKey("unknown_op", "op", `must be ${orList(CHANGE_OPS)}`);
  if (!isUuid(raw.entity_id)) return rejectKey("invalid_change", "entity_id", "must be a UUID");
  const unknown = unknownKeys(raw);
  if (unknown !== null) {
    const names = Object.keys(unknown.errors).join(", ");
    const message = `unknown fields of a change: ${names}${unknown.more > 0 ? ` and ${unknown.more} more` : ""}`;
    const ownKeys = ownKeysOf(raw);
    const ownKeysHashes = [hashOf(meaningful(ownKeys)), hashOf(ownKeys)];
    return bad(changeId, rawChangeId, entity, entityId, "invalid_change", message, { hash, earlierHash, ownKeysHashes }, failureDetails(unknown));
  }
  const op = raw.op as ChangeOp;

  let baseVersion: number | null = null;
  if (raw.base_version !== undefined && raw.base_version !== null) {
    if (typeof raw.base_version !== "number" || !Number.isSafeInteger(raw.base_version) || raw.base_version < 1) {
      return rejectKey("invalid_change", "base_version", "must be a positive integer");
    }
    baseVersion = raw.base_version;
  }

  if (raw.vector_clock === undefined) return rejectKey("invalid_clock", "vector_clock", REQUIRED_REASON);
  const clock = validateClock(raw.vector_clock);
  if (!clock.ok) return reject("invalid_clock", clock.reason, { fields: { vector_clock: clock.reason } });

  // A delete needs no fields; a create or an update carries them in `data`.
  const rawData = op === "delete" ? (raw.data ?? {}) : raw.data;
  if (!isPlainObject(rawData)) return reject("validation_failed", "data must be an object", { fields: { data: "must be an object" } });
  const checked = checkFields(raw.entity, rawData);
  if (!checked.ok) return reject("validation_failed", failureMessage(checked), failureDetails(checked));

  return {
    ok: true,
    change: {
      changeId,
      entity: raw.entity,
      entityId: raw.entity_id as string,
      op,
      // A delete carries no fields (any it has are checked above, then ignored).
      data: op === "delete" ? {} : checked.data,
      baseVersion,
      clock: clock.clock,
      hash: hash!,
      ...(earlierHash !== undefined && { earlierHash }),
      ...(op !== "delete" && checked.normalized && { normalized: true }),
    },
  };
}

/**
 * The keys of `raw` that are not {@link CHANGE_KEYS} (the first {@link MAX_FIELD_ERRORS} named, at most
 * {@link MAX_MORE_FIELDS} others counted), or null when there are none.
 */
function unknownKeys(raw: Record<string, unknown>): Pick<FieldFailures, "errors" | "more"> | null {
  const errors: Record<string, string> = Object.create(null);
  let count = 0;
  for (const key of Object.keys(raw)) {
    if (CHANGE_KEYS.has(key)) continue;
    if (count++ < MAX_FIELD_ERRORS) errors[key] = "is not a field of a change";
    else if (count >= MAX_FIELD_ERRORS + MAX_MORE_FIELDS) break;
  }
  return count === 0 ? null : { errors, more: Math.max(0, count - MAX_FIELD_ERRORS) };
}

function bad(
  changeId: string | null,
  rawChangeId: string | null,
  entity: string | null,
  entityId: string | null,
  code: ChangeErrorCode,
  message: string,
  hashes: Omit<ChangeHashes, "error"> = { hash: null },
  details?: Record<string, unknown>,
): ParseResult {
  const error: ChangeError = { code, message, details: details ?? {} };
  return { ok: false, malformed: { changeId, rawChangeId, entity, entityId, ...hashes, error } };
}

/**
 * The payload of `raw`: every key it has but its change_id, keys beside a change's own included (a
 * change re-sent with one added or dropped is another payload: `change_id_reused`, not a duplicate).
 */
function payloadOf(raw: Record<string, unknown>): Record<string, unknown> {
  const payload: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(raw)) if (key !== "change_id" && raw[key] !== undefined) payload[key] = raw[key];
  return payload;
}

/** The change's own payload keys of `raw` that it has: what the payload hash covered before 2026-12-07. */
function ownKeysOf(raw: Record<string, unknown>): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (const key of OWN_PAYLOAD_KEYS) if (raw[key] !== undefined) payload[key] = raw[key];
  return payload;
}

/**
 * `payload` without what says nothing — a null `base_version` (read as absent) and a delete's
 * `data` (absent, `{}` or fields: a delete ignores it) — so that a retry written either way is the
 * same change; `payload` itself when there is nothing to leave out.
 */
function meaningful(payload: Record<string, unknown>): Record<string, unknown> {
  const dropData = payload.op === "delete" && "data" in payload;
  if (payload.base_version !== null && !dropData) return payload;
  const out = { ...payload };
  if (out.base_version === null) delete out.base_version;
  if (dropData) delete out.data;
  return out;
}

const hashOf = (payload: Record<string, unknown>): string => Bun.SHA256.hash(canonicalJson(payload), "hex");

/** SHA-256 (hex) of the change's payload in canonical JSON (sorted keys), change_id and what says nothing ({@link meaningful}) left out. */
export const payloadHash = (raw: Record<string, unknown>): string => hashOf(meaningful(payloadOf(raw)));

/** The payload hash of answers remembered before 2026-12-06: every payload key as sent. */
export const earlierPayloadHash = (raw: Record<string, unknown>): string => hashOf(payloadOf(raw));

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value)) ?? "null";
}

/** A copy of `value` whose objects have their keys in sorted order (arrays and primitives as they are). */
function sortedKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = sortedKeys(value[i]);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = Object.create(null); // "__proto__" stays an ordinary key
  for (const k of Object.keys(obj).sort()) out[k] = sortedKeys(obj[k]);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const isChangeOp = (v: unknown): v is ChangeOp => (CHANGE_OPS as readonly unknown[]).includes(v);

/** `a, b or c`. */
const orList = (values: readonly string[]): string => `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`;
