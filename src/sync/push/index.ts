/** A push batch (`batch.ts`), imported by the sync service (and by tests) from here. */
export { PushBatch } from "./batch";
