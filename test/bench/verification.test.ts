/**
 * The bench verifies every answer (bench/README.md): a server that answers the right ids, versions
 * and counts but wrong content, or that sends a change twice, must fail the phase. The phases run
 * here against an in-memory fake of the sync API (./fake-sync.ts) that can be told to lie.
 */
import { expect, test } from "bun:test";
import { type Api, Device, type PulledChange } from "../../bench/client";
import type { Options, RunContext } from "../../bench/context";
import { Rng } from "../../bench/data";
import { concurrentPhase } from "../../bench/phases/concurrent";
import { editThenPull, snapshot } from "../../bench/phases/pull";
import { pushPhase, updatePhase } from "../../bench/phases/push";
import { FakeSync } from "./fake-sync";

const OPTS = { tasks: 40, batch: 10, incSize: 5, pullLimit: 7, ids: "v4", devices: 4, deviceRounds: 3, deviceChanges: 5 } as Options;

/** A run context on a fake server after the push and update phases. */
async function pushedContext(): Promise<{ ctx: RunContext; fake: FakeSync }> {
  const fake = new FakeSync();
  const ctx = {
    opts: OPTS, run: 1, kind: "sqlite", api: fake as unknown as Api, server: { pid: process.pid }, rng: new Rng(1),
    writer: new Device(await fake.createDevice(), "writer"), projectId: "", known: new Map(), taskIds: [], seeded: 0, seededKnown: 0,
  } as unknown as RunContext;
  await pushPhase(ctx);
  await updatePhase(ctx);
  return { ctx, fake };
}

/** A copy of `c` whose record's `field` is `value`. */
const withField = (c: PulledChange, field: string, value: unknown): PulledChange => ({ ...c, record: { ...c.record, [field]: value } });

test("a faithful server passes every check", async () => {
  const { ctx } = await pushedContext();
  const reader = new Device(await ctx.api.createDevice("reader"), "reader");
  expect((await snapshot(ctx, reader, OPTS.tasks)).records).toBe(OPTS.tasks + 1);
  await editThenPull(ctx, reader, ctx.taskIds, 3, OPTS.incSize);
  await concurrentPhase(ctx);
});

test("a push whose answer carries a record with other tags fails", async () => {
  const fake = new FakeSync();
  const push = fake.push.bind(fake);
  fake.push = async (deviceId, changes) => {
    const answer = await push(deviceId, changes);
    const r = answer.results[answer.results.length - 1];
    if (changes.length > 1) r.record = { ...r.record, tags: ["not", "what", "was pushed"] };
    return answer;
  };
  const ctx = {
    opts: OPTS, run: 1, kind: "sqlite", api: fake as unknown as Api, rng: new Rng(1),
    writer: new Device(await fake.createDevice(), "writer"), projectId: "", known: new Map(), taskIds: [],
  } as unknown as RunContext;
  await expect(pushPhase(ctx)).rejects.toThrow(/tags is/);
});

test("a snapshot with a task's description changed fails", async () => {
  const { ctx, fake } = await pushedContext();
  fake.tamper = (cs) => cs.map((c, i) => (i === 5 ? withField(c, "description", "not what was pushed") : c));
  const reader = new Device(await ctx.api.createDevice("reader"), "reader");
  await expect(snapshot(ctx, reader, OPTS.tasks)).rejects.toThrow(/description is "not what was pushed"/);
});

test("an incremental pull that returns an edit with the old title fails", async () => {
  const { ctx, fake } = await pushedContext();
  const reader = new Device(await ctx.api.createDevice("reader"), "reader");
  await snapshot(ctx, reader, OPTS.tasks);
  fake.tamper = (cs, incremental) => (incremental ? cs.map((c, i) => (i === 0 ? withField(c, "title", "An old title") : c)) : cs);
  await expect(editThenPull(ctx, reader, ctx.taskIds, 1, OPTS.incSize)).rejects.toThrow(/title is "An old title"/);
});

test("a concurrent device that is sent the same change in two pulls fails", async () => {
  const { ctx, fake } = await pushedContext();
  const sent = new Map<string, PulledChange[]>();
  let repeated = false;
  fake.tamper = (cs, incremental, deviceId) => {
    if (!incremental) return cs;
    const before = sent.get(deviceId) ?? [];
    const again = repeated ? undefined : before.find((c) => !cs.some((x) => x.entity_id === c.entity_id));
    sent.set(deviceId, [...before, ...cs]);
    if (!again) return cs;
    repeated = true;
    return [again, ...cs];
  };
  await expect(concurrentPhase(ctx)).rejects.toThrow(/twice/);
  expect(repeated).toBe(true);
});

test("a concurrent pull with another device's edit at the wrong priority fails", async () => {
  const { ctx, fake } = await pushedContext();
  let done = false;
  fake.tamper = (cs, incremental) => {
    if (!incremental || done || cs.length === 0) return cs;
    done = true;
    return [withField(cs[0], "priority", cs[0].record.priority === "low" ? "urgent" : "low"), ...cs.slice(1)];
  };
  await expect(concurrentPhase(ctx)).rejects.toThrow(/priority is/);
});
