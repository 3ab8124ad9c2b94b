/**
 * An in-memory stand-in for the server's sync API as the bench's phases call it (`createDevice`,
 * `push`, `pullAll`): every change applied, one feed position per write, a device's own latest
 * writes left out of its incremental pulls. `tamper` rewrites what one `pullAll` returns, so a test
 * can give the bench a wrong answer and see that its verification refuses it.
 */
import type { Change, PulledChange, PushResult, VectorClock } from "../../bench/client";

interface Stored {
  entity: string;
  id: string;
  version: number;
  clock: VectorClock;
  fields: Record<string, unknown>;
  origin: string;
  pos: number;
}

export class FakeSync {
  private devices = 0;
  private pos = 0;
  private records = new Map<string, Stored>();
  /** Rewrites the changes of one `pullAll` (incremental: `cursor !== null`) before they are paged. */
  tamper: ((changes: PulledChange[], incremental: boolean, deviceId: string) => PulledChange[]) | null = null;

  async createDevice(): Promise<string> {
    return `00000000-0000-4000-8000-${String(++this.devices).padStart(12, "0")}`;
  }

  async push(deviceId: string, changes: Change[]): Promise<{ results: PushResult[]; ms: number }> {
    const results = changes.map((c): PushResult => {
      const before = this.records.get(c.entity_id);
      const s: Stored = {
        entity: c.entity, id: c.entity_id, version: (before?.version ?? 0) + 1, clock: c.vector_clock,
        fields: { ...before?.fields, ...c.data }, origin: deviceId, pos: ++this.pos,
      };
      this.records.set(s.id, s);
      return { change_id: c.change_id, status: "applied", entity: s.entity, entity_id: s.id, version: s.version, vector_clock: s.clock, record: this.record(s) };
    });
    return { results, ms: 1 };
  }

  async pullAll(deviceId: string, cursor: string | null, limit: number, onPage: (changes: PulledChange[]) => void) {
    const since = cursor === null ? 0 : Number(cursor);
    let changes = [...this.records.values()]
      .filter((s) => s.pos > since && (cursor === null || s.origin !== deviceId))
      .sort((a, b) => a.pos - b.pos)
      .map((s): PulledChange => ({ entity: s.entity, entity_id: s.id, op: "upsert", record: this.record(s), version: s.version, vector_clock: s.clock }));
    if (this.tamper) changes = this.tamper(changes, cursor !== null, deviceId);
    const pages: number[] = [];
    for (let i = 0; i === 0 || i < changes.length; i += limit) {
      onPage(changes.slice(i, i + limit));
      pages.push(1);
    }
    return { cursor: String(this.pos), pages, ms: 1 };
  }

  private record(s: Stored): Record<string, unknown> {
    return { id: s.id, ...s.fields, version: s.version, vector_clock: s.clock };
  }
}
