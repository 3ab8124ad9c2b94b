/**
 * One push batch inside one transaction (docs/sync-design.md, "Push"): batched reads first
 * (`state.ts`), then every change decided in order (`order.ts`: the order sent, a referenced record's
 * create first; `decide.ts`) and its writes, Conflict and
 * `sync_changes` row sent to a sink (`sink.ts`): queued and stored at the end with multi-row
 * statements, or — when a row cannot be stored as decided — the batch processed again the careful
 * way, each change stored at once in its own savepoint and decided again on a lost compare-and-set.
 * A change refused by a rule writes nothing: only its answer is stored.
 */
import type { Tx } from "../../db/types";
import { DomainError } from "../../errors";
import { newId } from "../../ids";
import { type AnyRecord, isEntityKind } from "../../records/model";
import { RecordRepo } from "../../records/repo";
import { keptChanging, MAX_WRITE_ATTEMPTS, WriteConflict } from "../../records/write";
import { type ChangeHashes, isSamePayload, type MalformedChange, type ParsedChange, parseChange } from "../change";
import { type MergeBudget, pushMergeBudget } from "../text-merge";
import type { ChangeError, ChangeResult } from "../model";
import { type SeenChange, SyncChangeRepo } from "../repo";
import type { ConflictSpec, PushContext } from "./context";
import { decide, type DecideContext, type Outcome, refusalOf } from "./decide";
import { type AnsweredIds, changeError, conflictRow, decided, duplicate, rejected } from "./results";
import { decisionOrder } from "./order";
import { BulkConflict, BulkSink, type PushSink, SavepointSink } from "./sink";
import { BatchState } from "./state";

/** The row of a change was written by a concurrent request meanwhile (Postgres): answer from it. */
class AlreadySeen extends Error {}

/** Runs one batch in `tx`; see {@link PushBatch.run}. */
export class PushBatch {
  private readonly state: BatchState;
  private readonly sink: PushSink;
  /** Records written by the batch (sync_log `record_count`). */
  written = 0;

  /**
   * `mergeBudget`: the diff work the batch's text merges may still spend (one request's share of
   * the event loop); the careful pass after a bulk one gets what the bulk pass left.
   */
  constructor(
    private readonly tx: Tx,
    private readonly ctx: PushContext,
    mode: "bulk" | "savepoints" = "bulk",
    private readonly mergeBudget: MergeBudget = pushMergeBudget(),
  ) {
    this.state = new BatchState(tx, ctx.orgId, ctx.deviceId);
    const at = ctx.now.toISOString();
    this.sink = mode === "bulk" ? new BulkSink(ctx.orgId, ctx.deviceId, at, this.state.known) : new SavepointSink(ctx.orgId, ctx.deviceId, at);
  }

  /** Processes `raw` changes in order and answers one result per change, in the same order. */
  async run(raw: readonly unknown[]): Promise<ChangeResult[]> {
    const parsed = raw.map(parseChange);
    const ok = parsed.flatMap((p) => (p.ok ? [p.change] : []));
    const changeIds = parsed.flatMap((p) => (p.ok ? [p.change.changeId] : p.malformed.changeId !== null ? [p.malformed.changeId] : []));
    await this.state.preload(ok, changeIds);
    try {
      const results = await this.process(parsed);
      await this.sink.finish(this.tx);
      return results;
    } catch (err) {
      if (!(err instanceof BulkConflict)) throw err;
      const careful = new PushBatch(this.tx, this.ctx, "savepoints", this.mergeBudget);
      const results = await careful.run(raw);
      this.written = careful.written;
      return results;
    }
  }

  /** Decides the changes in {@link decisionOrder} (a referenced record's create first) and answers them in the order sent. */
  private async process(parsed: ReturnType<typeof parseChange>[]): Promise<ChangeResult[]> {
    const results: ChangeResult[] = new Array(parsed.length);
    for (const i of decisionOrder(parsed)) {
      const p = parsed[i]!;
      results[i] = p.ok ? await this.processOne(p.change) : await this.malformed(p.malformed);
    }
    return results;
  }

  /** A change that failed its own checks: remembered when its change_id is usable, so a retry gets the same answer. */
  private async malformed(m: MalformedChange): Promise<ChangeResult> {
    const result = rejected({ changeId: m.rawChangeId, entity: m.entity, entityId: m.entityId }, m.error);
    if (m.changeId === null || m.hash === null) return result;
    return this.storeAnswer(m.changeId, m.hash, m, result);
  }

  /** Decides the change and sends its write, Conflict and answer to the sink; a refusal sends only its answer. */
  private async processOne(c: ParsedChange): Promise<ChangeResult> {
    const seen = this.state.seen.get(c.changeId);
    if (seen) return this.answerRetry(c, seen);
    // A retried decision merges again: each attempt starts from the same budget, so a retry never
    // turns a merge into a conflict.
    const budgetLeft = this.mergeBudget.work;
    for (let attempt = 1; ; attempt++) {
      this.mergeBudget.work = budgetLeft;
      try {
        const { o, result } = await this.sink.atomic(this.tx, async (tx) => {
          const o = await decide(this.decideContext(tx), c);
          const result = await this.resultOf(tx, c, o);
          if (!(await this.sink.answer(tx, c.changeId, c.hash, result))) throw new AlreadySeen();
          return { o, result };
        });
        this.state.noteOutcome(c, o, result);
        if (o.wrote) this.written++;
        return result;
      } catch (err) {
        if (err instanceof AlreadySeen) {
          const row = await this.findAnswer(c.changeId);
          if (!row) throw err;
          this.state.seen.set(c.changeId, row);
          return this.answerRetry(c, row);
        }
        if (err instanceof WriteConflict) {
          // Another transaction wrote the record since it was read: decide again against its state
          // (never a rejection: the change itself is fine).
          if (attempt >= MAX_WRITE_ATTEMPTS) throw keptChanging(); // the whole push: nothing of it is committed
          this.state.refresh(c.entity, c.entityId, err.current as AnyRecord | undefined);
          continue;
        }
        if (err instanceof DomainError && err.code === "already_exists" && c.op === "create" && attempt < MAX_WRITE_ATTEMPTS) {
          // Created concurrently (or the id is taken in another organization, which stays a refusal).
          const now = await new RecordRepo(this.tx, this.ctx.orgId, c.entity).find(c.entityId);
          if (now) {
            this.state.refresh(c.entity, c.entityId, now);
            continue;
          }
        }
        const error = refusalOf(err);
        if (error) return this.reject(c, error);
        throw err;
      }
    }
  }

  /** A well-formed change seen before: its answer; a duplicate update is noted as the device's own earlier edit of its record. */
  private async answerRetry(c: ParsedChange, seen: SeenChange): Promise<ChangeResult> {
    const result = await this.answerSeen(c, seen);
    if (result.status === "duplicate") await this.state.noteDuplicate(c, seen);
    return result;
  }

  private decideContext(tx: Tx): DecideContext {
    return { push: this.ctx, tx, batch: this.state, mergeBudget: this.mergeBudget, write: (input) => this.sink.write(tx, input) };
  }

  /**
   * A change_id seen before: the same payload is a retry (`duplicate` of the original answer, its
   * record read back from history at the answered version); another payload is refused, the
   * change's own ids echoed (a malformed change's too, as its own rejection echoes them).
   */
  private async answerSeen(c: AnsweredIds & ChangeHashes, seen: SeenChange): Promise<ChangeResult> {
    if (isSamePayload(seen.hash, seen.result.error, c)) {
      const r = seen.result;
      const kind = r.entity !== null && isEntityKind(r.entity) ? r.entity : null;
      const record = r.record ?? (kind && r.entity_id && r.version !== null ? await this.state.snapshot(kind, r.entity_id, r.version) : null);
      return duplicate(r, (record as Record<string, unknown> | undefined) ?? null);
    }
    const reused = changeError("change_id_reused", "this change_id was already used by this device for another change", {
      fields: { change_id: "already used by this device for another change" },
    });
    return rejected(c, reused);
  }

  /** A refused change: nothing of it was stored; the answer is. */
  private reject(c: ParsedChange, error: ChangeError): Promise<ChangeResult> {
    return this.storeAnswer(c.changeId, c.hash, c, rejected(c, error, this.state.record(c.entity, c.entityId)));
  }

  /**
   * Stores a rejection's answer under `changeId` (the change `c`'s, with its payload `hash`), unless
   * the change_id was answered before (in this batch, or concurrently).
   */
  private async storeAnswer(changeId: string, hash: string, c: AnsweredIds & ChangeHashes, result: ChangeResult): Promise<ChangeResult> {
    const seen = this.state.seen.get(changeId);
    if (seen) return this.answerSeen(c, seen);
    if (!(await this.sink.answer(this.tx, changeId, hash, result))) {
      const row = await this.findAnswer(changeId);
      if (row) return this.answerSeen(c, row);
    }
    this.state.seen.set(changeId, { hash, result });
    return result;
  }

  private findAnswer(changeId: string): Promise<SeenChange | undefined> {
    return new SyncChangeRepo(this.tx, this.ctx.orgId).find(this.ctx.deviceId, changeId);
  }

  /** The answer to an outcome; records the Conflict (in the change's savepoint) when there is one. */
  private async resultOf(tx: Tx, c: ParsedChange, o: Outcome): Promise<ChangeResult> {
    const result = decided(c, o.status, o.record);
    if (o.conflict) result.conflict_id = await this.recordConflict(tx, c, o.conflict);
    return result;
  }

  private async recordConflict(tx: Tx, c: ParsedChange, spec: ConflictSpec): Promise<string> {
    const row = conflictRow(newId(), this.ctx, c, spec);
    await this.sink.conflict(tx, row);
    return row.id;
  }
}
