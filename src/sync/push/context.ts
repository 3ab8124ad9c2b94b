/** Who pushes, and the time every write of the batch carries. */
export interface PushContext {
  orgId: string;
  userId: string;
  /** The pushing device, already checked to be the caller's and not revoked. */
  deviceId: string;
  /** The pusher administers the organization (as read in the push's transaction): its devices may delete (moderate) any comment. */
  admin: boolean;
  now: Date;
}

/** The parts of a Conflict that the decision knows, the sides as Conflicts show them (docs/sync-design.md, "Conflicts"). */
export interface ConflictSpec {
  fields: string[];
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  base: Record<string, unknown> | null;
}
