/**
 * Realistic, deterministic task content for the benchmark: a 40-character title, a
 * 400-character description, a status, a priority, three tags, a due date and a project.
 * The same generator feeds the HTTP pushes, the storage baseline and the direct seeding,
 * so every path stores the same bytes.
 */
import { TASK_PRIORITIES, TASK_STATUSES, type TaskFields } from "../src/records/model";

export const STATUSES = TASK_STATUSES;
export const PRIORITIES = TASK_PRIORITIES;
const TAGS = ["backend", "frontend", "mobile", "ios", "android", "design", "ops", "bug", "feature", "chore",
  "docs", "security", "perf", "billing", "onboarding", "search", "sync", "infra", "ux", "qa"];
const WORDS = ("review update migrate refactor design deploy investigate document release verify schedule " +
  "customer invoice report dashboard login password offline sync conflict network cache button screen " +
  "settings profile export import backup restore payment quarterly weekly meeting notes roadmap budget").split(" ");

/** The fields a task create carries (everything the client owns): the model's writable fields, so a new one does not compile until {@link newTask} generates it. */
export type { TaskFields };

/** A small fast PRNG (mulberry32) so runs generate the same content. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** Text of exactly `len` characters made of words. */
export function text(rng: Rng, len: number): string {
  let s = "";
  while (s.length < len) s += (s ? " " : "") + rng.pick(WORDS);
  s = s.slice(0, len);
  return s.charAt(0).toUpperCase() + s.slice(1, len - 1) + ".";
}

function tags(rng: Rng): string[] {
  const out = new Set<string>();
  while (out.size < 3) out.add(rng.pick(TAGS));
  return [...out];
}

function dueDate(rng: Rng): string {
  const d = new Date(Date.UTC(2026, 0, 1) + rng.int(730) * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/**
 * Pre-generated descriptions (generating 400 characters word by word costs more than
 * storing them; seeding a million tasks would spend its time here).
 */
const POOL = 4096;
let descriptions: string[] | null = null;
function description(rng: Rng): string {
  descriptions ??= Array.from({ length: POOL }, (_, i) => text(new Rng(0x5eed + i), 400));
  return descriptions[rng.int(POOL)];
}

/** All fields of a new task. */
export function newTask(rng: Rng, projectId: string | null): TaskFields {
  return {
    project_id: projectId,
    title: text(rng, 40),
    description: description(rng),
    status: rng.pick(STATUSES),
    priority: rng.pick(PRIORITIES),
    due_date: dueDate(rng),
    tags: tags(rng),
    assignee_id: null,
  };
}

/** The fields of one edit (title, status, priority), always different from `current`. */
export function taskEdit(rng: Rng, current?: { status?: string; priority?: string }): { title: string; status: string; priority: string } {
  let status = rng.pick(STATUSES);
  if (status === current?.status) status = STATUSES[(STATUSES.indexOf(status as never) + 1) % STATUSES.length];
  let priority = rng.pick(PRIORITIES);
  if (priority === current?.priority) priority = PRIORITIES[(PRIORITIES.indexOf(priority as never) + 1) % PRIORITIES.length];
  return { title: text(rng, 40), status, priority };
}

/** The fields of the project every benchmark task belongs to. */
export function newProject(rng: Rng): { name: string; description: string; color: string; archived: boolean } {
  return { name: text(rng, 24), description: text(rng, 120), color: "#3b82f6", archived: false };
}

/**
 * How clients choose ids: `v4` random (what most platforms' UUID APIs return) or `v7` time-ordered
 * (RFC 9562): consecutive ids of one client sort together, so the server's id-keyed indexes append.
 */
export type IdKind = "v4" | "v7";

/** A new client-chosen id of the given kind. */
export const newId = (kind: IdKind): string => (kind === "v7" ? Bun.randomUUIDv7() : crypto.randomUUID());
