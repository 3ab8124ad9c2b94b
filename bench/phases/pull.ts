/**
 * Phase 3 (full pull): a new device pulls the whole feed without a cursor, page by page,
 * and must get every task and the project exactly once, at their latest versions.
 * Phase 4 (incremental pull): another device edits `incSize` tasks, then the reader pulls
 * from its cursor and must get exactly those, at their new versions; repeated for p50/p99.
 */
import { check, now, type Device, type PulledChange } from "../client";
import { checkPulledTask } from "../expect";
import { newDevice, taskCount, type RunContext } from "../context";
import { percentile, type PhaseResult } from "../report";
import { acceptEdit, editChange } from "./push";

export interface Snapshot {
  records: number;
  ms: number;
  pages: number[];
}

/**
 * A full snapshot pull by `dev`; checks that it holds `expectTasks` distinct tasks (those the
 * bench knows at their known version, clock and content) and the project. Leaves `dev.cursor` at its end.
 */
export async function snapshot(ctx: RunContext, dev: Device, expectTasks: number): Promise<Snapshot> {
  const seen = new Set<string>();
  let tasks = 0;
  let projects = 0;
  const onPage = (changes: PulledChange[]) => {
    for (const c of changes) {
      check(!seen.has(c.entity_id), `snapshot: ${c.entity} ${c.entity_id} came twice`);
      seen.add(c.entity_id);
      check(c.op === "upsert", `snapshot: ${c.entity} ${c.entity_id} came as ${c.op}`);
      check(c.record && c.record.id === c.entity_id, `snapshot: ${c.entity_id} has no record with that id`);
      if (c.entity === "task") {
        tasks++;
        const k = ctx.known.get(c.entity_id);
        if (k) checkPulledTask("snapshot", c, k.version, k.clock, k.content);
      } else if (c.entity === "project") {
        projects++;
        check(c.entity_id === ctx.projectId, `snapshot: unexpected project ${c.entity_id}`);
      } else {
        throw new Error(`snapshot: unexpected entity ${c.entity}`);
      }
    }
  };
  const r = await ctx.api.pullAll(dev.id, null, ctx.opts.pullLimit, onPage);
  check(tasks === expectTasks, `snapshot: ${tasks} tasks, expected ${expectTasks}`);
  check(projects === 1, `snapshot: ${projects} projects, expected 1`);
  for (const id of ctx.known.keys()) check(seen.has(id), `snapshot: task ${id} is missing`);
  dev.cursor = r.cursor;
  return { records: tasks + projects, ms: r.ms, pages: r.pages };
}

/**
 * Phase 3: `pullDevices` new devices, one after the other, each pull the full snapshot. The figure
 * is their median (the page times of that device); the first one — the server's first pull since
 * it started, with its code not yet optimized and its caches cold — is reported in the notes.
 */
export async function fullPullPhase(ctx: RunContext): Promise<PhaseResult> {
  const snaps: Snapshot[] = [];
  let reader: Device | undefined;
  for (let i = 0; i < ctx.opts.pullDevices; i++) {
    reader = await newDevice(ctx.api, `bench-reader-${i + 1}`);
    snaps.push(await snapshot(ctx, reader, taskCount(ctx)));
  }
  ctx.reader = reader;
  const rate = (s: Snapshot) => (s.records / s.ms) * 1000;
  const median = [...snaps].sort((a, b) => rate(a) - rate(b))[(snaps.length - 1) >> 1];
  return {
    run: ctx.run, db: ctx.kind, phase: "pull_full",
    label: `full pull ${median.records.toLocaleString("en-US")} rec, limit ${ctx.opts.pullLimit}`,
    count: median.records, opsPerSec: rate(median), p50: percentile(median.pages, 50), p99: percentile(median.pages, 99),
    metrics: { pages: median.pages.length, devices: snaps.length, first_rec_per_s: rate(snaps[0]) },
  };
}

/**
 * `rounds` × (the editor pushes `size` edits of tasks drawn from `pool`, then `reader` pulls from
 * its cursor and must receive exactly those, at their new versions, clocks and content). Returns pull and push times.
 */
export async function editThenPull(
  ctx: RunContext,
  reader: Device,
  pool: string[],
  rounds: number,
  size: number,
): Promise<{ pulls: number[]; pushes: number[] }> {
  ctx.editor ??= await newDevice(ctx.api, "bench-editor");
  const editor = ctx.editor;
  check(pool.length >= size, `only ${pool.length} tasks to edit, need ${size}`);
  const pulls: number[] = [];
  const pushes: number[] = [];
  let next = ctx.rng.int(pool.length);
  for (let round = 0; round < rounds; round++) {
    const ids: string[] = [];
    for (let i = 0; i < size; i++) ids.push(pool[next++ % pool.length]);
    const changes = ids.map((id) => editChange(ctx, editor, id));
    const pushed = await ctx.api.push(editor.id, changes);
    pushed.results.forEach((r, i) => acceptEdit(ctx, r, changes[i]));
    pushes.push(pushed.ms);

    const got = new Map<string, PulledChange>();
    const t0 = now();
    const r = await ctx.api.pullAll(reader.id, reader.cursor, ctx.opts.pullLimit, (page) => {
      for (const c of page) {
        check(!got.has(c.entity_id), `incremental pull: ${c.entity_id} came twice`);
        got.set(c.entity_id, c);
      }
    });
    pulls.push(now() - t0);
    reader.cursor = r.cursor;
    check(got.size === size, `incremental pull round ${round}: ${got.size} changes, expected exactly ${size}`);
    for (const id of ids) {
      const c = got.get(id);
      check(c !== undefined, `incremental pull round ${round}: edited task ${id} is missing`);
      const k = ctx.known.get(id)!;
      checkPulledTask(`incremental pull round ${round}`, c, k.version, k.clock, k.content);
    }
  }
  return { pulls, pushes };
}

/** Phase 4: incremental pulls of `incSize` changes at the size of phase 1. */
export async function incrementalPhase(ctx: RunContext): Promise<PhaseResult> {
  check(ctx.reader?.cursor, "incremental pull needs the cursor of the full pull");
  const { incRounds, incSize } = ctx.opts;
  const t = await editThenPull(ctx, ctx.reader, ctx.taskIds, incRounds, incSize);
  ctx.incP50 = percentile(t.pulls, 50);
  return pullRow(ctx, "pull_inc", `incr. pull ${incSize} @${taskCount(ctx).toLocaleString("en-US")} ×${incRounds}`, t);
}

export function pullRow(ctx: RunContext, phase: "pull_inc" | "pull_inc_scale", label: string, t: { pulls: number[]; pushes: number[] }): PhaseResult {
  const total = t.pulls.reduce((a, b) => a + b, 0);
  return {
    run: ctx.run, db: ctx.kind, phase, label,
    count: t.pulls.length * ctx.opts.incSize,
    opsPerSec: ((t.pulls.length * ctx.opts.incSize) / total) * 1000,
    p50: percentile(t.pulls, 50), p99: percentile(t.pulls, 99),
    metrics: { push_p50: percentile(t.pushes, 50), push_size: ctx.opts.incSize },
  };
}
