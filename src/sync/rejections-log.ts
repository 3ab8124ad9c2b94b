import type { Logger } from "../log/logger";
import type { ChangeResult } from "./model";

/** How many of a push's rejected changes its `push_rejected` line lists (all are counted). */
export const REJECTIONS_LISTED = 10;

/**
 * Logs `push_rejected` (warn) when a committed push rejected some of its changes: the push answers 200,
 * so its request line does not tell, and an honest device never sends a change the server rejects
 * (api-contract.md): a client bug, or a device past the contract's limits, for the operator to find.
 */
export function logRejections(log: Logger, who: { orgId: string; userId: string; deviceId: string }, results: readonly ChangeResult[]): void {
  const rejected = results.filter((r) => r.status === "rejected");
  if (rejected.length === 0) return;
  log.warn("push_rejected", {
    device_id: who.deviceId,
    user_id: who.userId,
    org_id: who.orgId,
    changes: results.length,
    rejected: rejected.length,
    first: rejected.slice(0, REJECTIONS_LISTED).map((r) => ({
      change_id: r.change_id,
      entity: r.entity,
      entity_id: r.entity_id,
      code: r.error?.code ?? null,
      message: r.error?.message ?? null,
    })),
  });
}
