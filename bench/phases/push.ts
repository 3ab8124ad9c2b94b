/**
 * Phases 1 and 2: one device pushes N task creates (after the project they belong to), then
 * edits every task once (title, status, priority) with its base_version and its own clock
 * entry incremented — every result must be `applied` at the expected version.
 */
import { check, expectApplied, now, type Change, type PushResult } from "../client";
import type { RunContext } from "../context";
import { newId, newProject, newTask, taskEdit } from "../data";
import { checkContent } from "../expect";
import { percentile, type PhaseResult } from "../report";

/** Pushes `changes` in batches of `size`; checks every result with `verify`; returns timing. */
export async function pushInBatches(
  ctx: RunContext,
  deviceId: string,
  changes: Change[],
  size: number,
  verify: (r: PushResult, c: Change) => void,
): Promise<{ ms: number; batches: number[] }> {
  const batches: number[] = [];
  const t0 = now();
  for (let i = 0; i < changes.length; i += size) {
    const slice = changes.slice(i, i + size);
    const { results, ms } = await ctx.api.push(deviceId, slice);
    batches.push(ms);
    results.forEach((r, j) => verify(r, slice[j]));
  }
  return { ms: now() - t0, batches };
}

/** The result row of a push-like phase. */
function row(ctx: RunContext, phase: "push" | "update", label: string, count: number, t: { ms: number; batches: number[] }): PhaseResult {
  return {
    run: ctx.run,
    db: ctx.kind,
    phase,
    label,
    count,
    opsPerSec: (count / t.ms) * 1000,
    p50: percentile(t.batches, 50),
    p99: percentile(t.batches, 99),
    metrics: {},
  };
}

/** Phase 1: the project, then N task creates in batches. */
export async function pushPhase(ctx: RunContext): Promise<PhaseResult> {
  const dev = ctx.writer;
  const { tasks, batch } = ctx.opts;

  const project: Change = {
    change_id: newId(ctx.opts.ids), entity: "project", entity_id: newId(ctx.opts.ids), op: "create",
    data: newProject(ctx.rng), vector_clock: dev.tick(),
  };
  const p = await ctx.api.push(dev.id, [project]);
  expectApplied(p.results[0], project, 1);
  ctx.projectId = project.entity_id;

  // Content is generated before the clock starts: only the server is measured.
  const changes: Change[] = [];
  for (let i = 0; i < tasks; i++) {
    changes.push({
      change_id: newId(ctx.opts.ids), entity: "task", entity_id: newId(ctx.opts.ids), op: "create",
      data: { ...newTask(ctx.rng, ctx.projectId) }, vector_clock: dev.tick(),
    });
  }
  const t = await pushInBatches(ctx, dev.id, changes, batch, (r, c) => {
    expectApplied(r, c, 1);
    checkContent(`push create ${c.entity_id}`, r.record, c.data!);
    ctx.known.set(c.entity_id, { version: r.version, clock: r.vector_clock, content: { ...c.data } });
    ctx.taskIds.push(c.entity_id);
  });
  return row(ctx, "push", `push ${tasks.toLocaleString("en-US")} creates ×${batch}`, tasks, t);
}

/** Builds one edit (title, status, priority) of a known task by `dev`. */
export function editChange(ctx: RunContext, dev: { tick: (c?: Record<string, number>) => Record<string, number> }, id: string): Change {
  const k = ctx.known.get(id);
  check(k, `no known state for task ${id}`);
  return {
    change_id: newId(ctx.opts.ids), entity: "task", entity_id: id, op: "update",
    data: taskEdit(ctx.rng, k.content), base_version: k.version, vector_clock: dev.tick(k.clock),
  };
}

/** Checks an edit's result (applied, version +1, the record: the pushed fields and the others as known) and records the new state. */
export function acceptEdit(ctx: RunContext, r: PushResult, c: Change): void {
  const k = ctx.known.get(c.entity_id)!;
  expectApplied(r, c, c.base_version! + 1);
  const d = c.data as { title: string; status: string; priority: string };
  k.content = { ...k.content, ...d };
  checkContent(`push update ${c.entity_id}`, r.record, k.content);
  k.version = r.version;
  k.clock = r.vector_clock;
}

/** Phase 2: every task of phase 1 edited once. */
export async function updatePhase(ctx: RunContext): Promise<PhaseResult> {
  const changes = ctx.taskIds.map((id) => editChange(ctx, ctx.writer, id));
  const t = await pushInBatches(ctx, ctx.writer.id, changes, ctx.opts.batch, (r, c) => acceptEdit(ctx, r, c));
  return row(ctx, "update", `update ${changes.length.toLocaleString("en-US")} edits ×${ctx.opts.batch}`, changes.length, t);
}
