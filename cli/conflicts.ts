import { Option, type Command } from "commander";
import { lowerBodyIds } from "../src/ids";
import { type Conflict, type ConflictSummary, conflictView } from "../src/sync/conflict-service";
import { RESOLUTIONS, type Resolution } from "../src/sync/model";
import { orgSlugs, withRuntime } from "./context";
import { UsageError } from "./failure";
import { idArgument } from "./id-argument";
import { JsonArrayWriter, printList, printRecord } from "./output";
import { nonEmpty } from "./text-option";

/** A conflict as the CLI prints it: the API's view plus its organization. */
const cliView = (c: Conflict) => ({ ...conflictView(c), organization_id: c.orgId });

/** `--data '{"title": "…"}'`: a JSON object, or a one-line failure. */
function parseData(raw: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw new UsageError("--data is not valid JSON");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new UsageError("--data must be a JSON object");
  return data as Record<string, unknown>;
}

/** `taskmgr conflicts list [--org SLUG] [--all] [--json]`, `conflicts show ID [--json]`, `conflicts resolve ID --use local|remote|custom [--data JSON]`. */
export function registerConflicts(program: Command): void {
  const conflicts = program.command("conflicts").description("sync conflicts that need a person to decide");

  conflicts
    .command("list")
    .description("list open conflicts, oldest first (of every organization unless --org)")
    .option("--org <slug>", "only this organization", nonEmpty)
    .option("--all", "resolved conflicts too")
    .option("--json", "print a JSON array")
    .action((opts: { org?: string; all?: boolean; json?: boolean }, self: Command) =>
      withRuntime(self, async (rt) => {
        const scope = { orgSlug: opts.org, includeResolved: opts.all === true };
        if (opts.json === true) {
          // Each conflict whole (three copies of its record): written as read, a chunk at a time.
          const json = new JsonArrayWriter();
          await rt.services.conflicts.eachAcrossOrgs(scope, (c) => json.item(cliView(c)));
          return json.end();
        }
        const rows = await rt.services.conflicts.listAcrossOrgs(scope);
        const slugs = await orgSlugs(rt);
        printList(
          rows,
          [
            { header: "ID", value: (c: ConflictSummary) => c.id },
            { header: "ORG", value: (c: ConflictSummary) => slugs.get(c.orgId) ?? c.orgId },
            { header: "USER", value: (c: ConflictSummary) => c.userEmail },
            { header: "ENTITY", value: (c: ConflictSummary) => c.entity },
            { header: "ENTITY_ID", value: (c: ConflictSummary) => c.entityId },
            { header: "FIELDS", value: (c: ConflictSummary) => c.fields.join(",") },
            { header: "CREATED_AT", value: (c: ConflictSummary) => c.createdAt },
            { header: "RESOLUTION", value: (c: ConflictSummary) => c.resolution },
          ],
          false,
        );
      }),
    );

  conflicts
    .command("show")
    .description("print one conflict as JSON: the fields, both sides and the base")
    .addArgument(idArgument("conflict id"))
    .option("--json", "the same JSON (taken, as by the commands that print JSON on request)")
    .action((id: string, _opts, self: Command) =>
      withRuntime(self, async ({ services }) => {
        printRecord(cliView(await services.conflicts.getAnyOrg(id)), true, "");
      }),
    );

  // --use is required, but checked once the arguments are (a preAction hook): Commander checks
  // mandatory options before arguments, and `conflicts resolve` without an id complained about --use.
  const use = new Option("--use <side>", "local (the device's proposal), remote (the server's state) or custom (--data)").choices(RESOLUTIONS);
  conflicts
    .command("resolve")
    .description("resolve a conflict: a new version of the record that every device pulls")
    .addArgument(idArgument("conflict id"))
    .addOption(use)
    .option("--data <json>", "custom only: the fields to write, a JSON object")
    .option("--json", "print the resulting record as JSON")
    .hook("preAction", (self) => {
      if (self.getOptionValue(use.attributeName()) === undefined) {
        self.error(`error: required option '${use.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
      }
    })
    .action((id: string, opts: { use: Resolution; data?: string; json?: boolean }, self: Command) => {
      // Bad usage is told before the database is opened (found by QA: `--use custom` without --data
      // created and migrated the SQLite file, and answered a database that was down with exit 1).
      if ((opts.use === "custom") !== (opts.data !== undefined)) throw new UsageError(opts.use === "custom" ? "--use custom needs --data" : "--data goes only with --use custom");
      const data = opts.data === undefined ? undefined : parseData(opts.data);
      lowerBodyIds(data);
      return withRuntime(self, async ({ services }) => {
        const record = await services.conflicts.resolveAnyOrg(id, { resolution: opts.use, data });
        printRecord(record, opts.json === true, `resolved conflict ${id} (${opts.use}): record ${record.id} is at version ${record.version}${record.deleted_at ? " (deleted)" : ""}`);
      });
    });
}
