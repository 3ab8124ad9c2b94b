import type { Executor } from "../db/types";
import { OrgRepo } from "./repo";

/** Which organizations a CLI listing covers: the one with `orgId`, or every one when absent. */
export interface OrgScope {
  orgId?: string;
}

/**
 * The scope of a CLI listing's `--org SLUG`: that organization (`not_found` for an unknown slug), or
 * every organization without a slug. What the `…AnyOrg` listings take.
 */
export async function orgScope(exec: Executor, slug: string | undefined): Promise<OrgScope> {
  return slug === undefined ? {} : { orgId: (await new OrgRepo(exec).mustGetBySlug(slug)).id };
}
