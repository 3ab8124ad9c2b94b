/** What the phases of one run share: the options, the server, the logged-in client and what the bench knows. */
import { Api, Device, type Known } from "./client";
import { type IdKind, Rng } from "./data";
import type { BenchDatabase, ServerProcess } from "./server";

export interface Options {
  db: "sqlite" | "postgres" | "both";
  quick: boolean;
  /** Task creates pushed over HTTP (phase push), then each edited once (phase update). */
  tasks: number;
  /** Changes per push request. */
  batch: number;
  /** Tasks in the organization for the scale phase (seeded directly up to this count). */
  scale: number;
  /** Whole runs; with more than one the median of each figure is printed too. */
  rounds: number;
  /** Rounds of (another device edits `incSize` tasks, then one incremental pull). */
  incRounds: number;
  incSize: number;
  /** Concurrent phase: devices × rounds × changes per push. */
  devices: number;
  deviceRounds: number;
  deviceChanges: number;
  /** `limit` of every pull. */
  pullLimit: number;
  /** Phase 3: new devices that each pull the full snapshot, one after the other. */
  pullDevices: number;
  pgUrl: string;
  logLevel: string;
  /** Concurrent phase again with two server instances on one Postgres. */
  twoInstances: boolean;
  binary: boolean;
  binaryPath: string;
  outDir: string;
  /** How the bench's clients choose entity and change ids (v4 random, v7 time-ordered). */
  ids: IdKind;
  /** Seconds each phase may take before it fails (a pathological server must not hang the bench). */
  phaseTimeout: number;
}

export interface RunContext {
  opts: Options;
  run: number;
  kind: "sqlite" | "postgres";
  db: BenchDatabase;
  env: Record<string, string>;
  server: ServerProcess;
  api: Api;
  email: string;
  password: string;
  orgSlug: string;
  rng: Rng;
  /** The device that pushes the creates and the edits of phases 1–2. */
  writer: Device;
  projectId: string;
  /** Latest version and clock of every task the bench wrote over HTTP, and of a sample of the seeded ones. */
  known: Map<string, Known>;
  /** Ids of the tasks of phase 1, in push order. */
  taskIds: string[];
  /** Tasks seeded directly in the scale phase (only a sample of them is in `known`). */
  seeded: number;
  seededKnown: number;
  /** The device that pulled the full feed, with its cursor (phase 3 → 4). */
  reader?: Device;
  /** The device whose edits the incremental pulls must return. */
  editor?: Device;
  /** p50 of the incremental pull at `tasks` (phase 4), the reference of the scale phase. */
  incP50?: number;
}

/** Registers a device through the API. */
export async function newDevice(api: Api, name: string): Promise<Device> {
  return new Device(await api.createDevice(name), name);
}

/** Tasks in the organization (HTTP-written plus seeded). */
export const taskCount = (ctx: RunContext): number => ctx.known.size - ctx.seededKnown + ctx.seeded;
