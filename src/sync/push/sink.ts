/**
 * Where a push batch's decisions go (docs/sync-design.md, "One transaction, decided in memory,
 * stored in bulk"): queued and stored together at the end with multi-row statements
 * ({@link BulkSink}), or — the careful way — stored at once, each change in its own savepoint
 * ({@link SavepointSink}).
 */
import type { Tx } from "../../db/types";
import type { AnyRecord, EntityKind } from "../../records/model";
import type { KnownRecords } from "../../records/refs";
import { prepareWrite, type PreparedWrite, storeWrites, type WriteInput, writeRecord } from "../../records/write";
import { type Conflict, ConflictRepo } from "../conflicts-repo";
import type { ChangeResult } from "../model";
import { type ChangeRow, SyncChangeRepo } from "../repo";

/** What a push batch does with each decided change: write it, record its conflict, answer it, and at the end store what is queued. */
export interface PushSink {
  /** Runs the handling of one change so that a throw undoes everything it sent here. */
  atomic<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Stores or queues a write; answers the record as written. */
  write(tx: Tx, input: WriteInput<EntityKind>): Promise<AnyRecord>;
  conflict(tx: Tx, conflict: Conflict): Promise<void>;
  /** Stores or queues a change's `sync_changes` row; false when the device's row for that change_id exists already. */
  answer(tx: Tx, changeId: string, hash: string, result: ChangeResult): Promise<boolean>;
  /** At the end of the batch: stores what is queued, or throws {@link BulkConflict} having stored nothing. */
  finish(tx: Tx): Promise<void>;
}

/** The bulk store could not store a row as decided: roll it back and process the batch change by change. */
export class BulkConflict extends Error {}

/** Each change stored at once through the write core, in its own savepoint. */
export class SavepointSink implements PushSink {
  constructor(
    private readonly orgId: string,
    private readonly deviceId: string,
    private readonly at: string,
  ) {}

  atomic<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return tx.savepoint(fn);
  }

  write(tx: Tx, input: WriteInput<EntityKind>): Promise<AnyRecord> {
    return writeRecord(tx, input);
  }

  conflict(tx: Tx, conflict: Conflict): Promise<void> {
    return new ConflictRepo(tx, this.orgId).put(conflict);
  }

  answer(tx: Tx, changeId: string, hash: string, result: ChangeResult): Promise<boolean> {
    return new SyncChangeRepo(tx, this.orgId).put(this.deviceId, changeId, hash, result, this.at);
  }

  async finish(): Promise<void> {}
}

/** Writes checked in memory (`prepareWrite`) and queued with the Conflicts and answers; all stored by {@link finish}. */
export class BulkSink implements PushSink {
  private readonly writes: PreparedWrite[] = [];
  private readonly conflicts: Conflict[] = [];
  private readonly changes: ChangeRow[] = [];

  constructor(
    private readonly orgId: string,
    private readonly deviceId: string,
    private readonly at: string,
    /** The batch's records: reference checks look there first. */
    private readonly known: KnownRecords,
  ) {}

  async atomic<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const mark = this.mark();
    try {
      return await fn(tx);
    } catch (err) {
      this.rollback(mark);
      throw err;
    }
  }

  async write(tx: Tx, input: WriteInput<EntityKind>): Promise<AnyRecord> {
    const w = await prepareWrite(tx, input, this.known);
    this.writes.push(w);
    return w.after;
  }

  async conflict(_tx: Tx, conflict: Conflict): Promise<void> {
    this.conflicts.push(conflict);
  }

  async answer(_tx: Tx, changeId: string, hash: string, result: ChangeResult): Promise<boolean> {
    this.changes.push({ changeId, hash, result });
    return true;
  }

  /** Stores everything queued, in a savepoint: a {@link BulkConflict} rolls it all back. */
  finish(tx: Tx): Promise<void> {
    return tx.savepoint(async (sp) => {
      if (!(await storeWrites(sp, this.orgId, this.writes))) throw new BulkConflict();
      const conflicts = new ConflictRepo(sp, this.orgId);
      for (const c of this.conflicts) await conflicts.put(c);
      if ((await new SyncChangeRepo(sp, this.orgId).putMany(this.deviceId, this.changes, this.at)) !== this.changes.length) throw new BulkConflict();
    });
  }

  private mark(): [number, number, number] {
    return [this.writes.length, this.conflicts.length, this.changes.length];
  }

  private rollback([writes, conflicts, changes]: [number, number, number]): void {
    this.writes.length = writes;
    this.conflicts.length = conflicts;
    this.changes.length = changes;
  }
}
