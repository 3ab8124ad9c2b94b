const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new random UUID (v4). */
export const newId = (): string => crypto.randomUUID();

/** True for a UUID string in canonical 8-4-4-4-12 form. */
export const isUuid = (s: unknown): s is string => typeof s === "string" && UUID.test(s);
