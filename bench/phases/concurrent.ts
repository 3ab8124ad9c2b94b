/**
 * Phase 5: `devices` devices at once, each doing `deviceRounds` rounds of (push
 * `deviceChanges` changes, then pull from its own cursor). Every change must be applied; every
 * pulled change must be a state some other device wrote in the phase (that version, clock and
 * content), never one of the device's own, and never the same state twice; at the end every
 * device must have pulled every other device's last write of each record. Optionally the devices
 * are spread over several server instances sharing one database.
 */
import { Api, check, expectApplied, now, type Change, type Device, type PulledChange, type VectorClock } from "../client";
import { newDevice, taskCount, type RunContext } from "../context";
import { newId, newTask } from "../data";
import { percentile, type PhaseResult } from "../report";
import { postgresCpuMs, readCpuMs } from "../server";
import { checkContent, checkPulledTask } from "../expect";
import { acceptEdit, editChange } from "./push";
import { snapshot } from "./pull";

/** The database name of a `postgres://…/NAME` URL. */
const databaseOf = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));

interface Actor {
  dev: Device;
  api: Api;
  /** Tasks only this device edits (so every change is `applied`). */
  own: string[];
  next: number;
  /** entity id → latest version this device wrote. */
  wrote: Map<string, number>;
  /** entity id → highest version this device pulled. */
  pulled: Map<string, number>;
  /** `id@version` of every state this device pulled (a second one is a duplicate). */
  seen: Set<string>;
  /** Pulled states whose push had not been answered yet when they arrived: checked at the end. */
  early: PulledChange[];
}

/** A state written in the phase: `id@version` → its clock and content. */
type Written = Map<string, { clock: VectorClock; content: Record<string, unknown> }>;

/** A server instance the devices talk to: its client, and its process (whose CPU time is reported). */
export interface Instance {
  api: Api;
  pid: number;
}

/**
 * Runs the phase with the devices spread over `instances`. Besides the rates it reports the CPU
 * time the server instances, this bench process (the simulated devices: building, parsing and
 * checking every answer) and, on Postgres, the database's processes used during the timed part.
 */
export async function concurrentPhase(ctx: RunContext, instances: Instance[] = [{ api: ctx.api, pid: ctx.server.pid }], label = "concurrent"): Promise<PhaseResult> {
  const apis = instances.map((i) => i.api);
  const { devices, deviceRounds, deviceChanges, pullLimit } = ctx.opts;
  const creates = Math.max(1, Math.floor(deviceChanges / 5)); // 1 in 5 changes creates a task, the rest edit

  // Set up: register the devices and give each a cursor with a snapshot (not timed).
  const actors: Actor[] = [];
  for (let i = 0; i < devices; i++) {
    const dev = await newDevice(ctx.api, `bench-concurrent-${i}`);
    actors.push({ dev, api: apis[i % apis.length], own: [], next: 0, wrote: new Map(), pulled: new Map(), seen: new Set(), early: [] });
  }
  ctx.taskIds.forEach((id, i) => actors[i % devices].own.push(id));
  // A round edits each task once: with fewer own tasks than edits, one task came twice in a batch from the same base (`stale`).
  const edits = deviceChanges - creates;
  check(Math.min(...actors.map((a) => a.own.length)) >= edits, `concurrent: each device edits ${edits} of its own tasks a round, so --tasks must be at least ${devices * edits} (${devices} devices)`);
  const expected = taskCount(ctx);
  for (const a of actors) await snapshotVia(ctx, a, expected);

  const written: Written = new Map();
  const rounds: number[] = [];
  const cpu0 = { server: serverCpuMs(instances), client: process.cpuUsage(), db: ctx.kind === "postgres" ? postgresCpuMs(databaseOf(ctx.db.url)) : 0 };
  const t0 = now();
  await Promise.all(
    actors.map(async (a) => {
      for (let round = 0; round < deviceRounds; round++) {
        const changes: Change[] = [];
        for (let i = 0; i < creates; i++) {
          changes.push({
            change_id: newId(ctx.opts.ids), entity: "task", entity_id: newId(ctx.opts.ids), op: "create",
            data: { ...newTask(ctx.rng, ctx.projectId) }, vector_clock: a.dev.tick(),
          });
        }
        for (let i = changes.length; i < deviceChanges; i++) {
          changes.push(editChange(ctx, a.dev, a.own[a.next++ % a.own.length]));
        }
        const r0 = now();
        const { results } = await a.api.push(a.dev.id, changes);
        results.forEach((r, i) => {
          const c = changes[i];
          if (c.op === "create") {
            expectApplied(r, c, 1);
            checkContent(`concurrent create ${c.entity_id}`, r.record, c.data!);
            ctx.known.set(c.entity_id, { version: 1, clock: r.vector_clock, content: { ...c.data } });
          } else {
            acceptEdit(ctx, r, c);
          }
          const k = ctx.known.get(c.entity_id)!;
          written.set(`${c.entity_id}@${r.version}`, { clock: k.clock, content: { ...k.content } });
          a.wrote.set(c.entity_id, r.version);
        });
        await pullInto(a, pullLimit, written);
        rounds.push(now() - r0);
      }
    }),
  );
  const ms = now() - t0;
  const clientCpu = process.cpuUsage(cpu0.client);
  const cpu = {
    server_cpu_ms: serverCpuMs(instances) - cpu0.server,
    client_cpu_ms: (clientCpu.user + clientCpu.system) / 1000,
    ...(ctx.kind === "postgres" ? { db_cpu_ms: postgresCpuMs(databaseOf(ctx.db.url)) - cpu0.db } : {}),
  };
  for (const a of actors) await pullInto(a, pullLimit, written); // drain what others wrote after this device's last round

  for (const a of actors) {
    for (const c of a.early) checkWritten(a, c, written);
    for (const id of a.wrote.keys()) {
      check(!a.pulled.has(id), `concurrent: device ${a.dev.name} pulled back its own change of ${id}`);
    }
    for (const b of actors) {
      if (b === a) continue;
      for (const [id, v] of b.wrote) {
        const got = a.pulled.get(id);
        check(got === v,
          `concurrent: device ${a.dev.name} skipped ${b.dev.name}'s change of ${id} (v${v}, pulled ${got ?? "nothing"})`);
      }
    }
  }
  const total = devices * deviceRounds * deviceChanges;
  return {
    run: ctx.run, db: ctx.kind, phase: apis.length > 1 ? "concurrent_2x" : "concurrent",
    label: `${label} ${devices} dev × ${deviceRounds} × ${deviceChanges}`,
    count: total, opsPerSec: (total / ms) * 1000, p50: percentile(rounds, 50), p99: percentile(rounds, 99), metrics: { wall_ms: ms, ...cpu },
  };
}

const serverCpuMs = (instances: Instance[]): number => instances.reduce((sum, i) => sum + readCpuMs(i.pid), 0);

/** The device's initial snapshot, through its own server instance. */
async function snapshotVia(ctx: RunContext, a: Actor, expected: number): Promise<void> {
  const saved = ctx.api;
  ctx.api = a.api;
  try {
    await snapshot(ctx, a.dev, expected);
  } finally {
    ctx.api = saved;
  }
}

/** Checks a pulled state against the one written in the phase at that version (clock, content). */
function checkWritten(a: Actor, c: PulledChange, written: Written): void {
  const w = written.get(`${c.entity_id}@${c.version}`);
  check(w, `concurrent: device ${a.dev.name} pulled ${c.entity} ${c.entity_id} v${c.version}, which no device wrote in this phase`);
  checkPulledTask(`concurrent: device ${a.dev.name}`, c, c.version, w.clock, w.content);
}

/**
 * Pulls from the device's cursor until has_more is false: each change must be a state `written` in
 * the phase (version, clock, content) that this device has not pulled before — one whose push has
 * not been answered yet (committed, its answer still on its way) is checked at the end; records
 * the highest version seen per record.
 */
async function pullInto(a: Actor, limit: number, written: Written): Promise<void> {
  const r = await a.api.pullAll(a.dev.id, a.dev.cursor, limit, (page) => {
    for (const c of page) {
      const key = `${c.entity_id}@${c.version}`;
      check(!a.seen.has(key), `concurrent: device ${a.dev.name} pulled ${c.entity} ${c.entity_id} v${c.version} twice`);
      a.seen.add(key);
      if (written.has(key)) checkWritten(a, c, written);
      else a.early.push(c);
      a.pulled.set(c.entity_id, Math.max(a.pulled.get(c.entity_id) ?? 0, c.version));
    }
  });
  a.dev.cursor = r.cursor;
}
