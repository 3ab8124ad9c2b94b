import type { Command } from "commander";
import type { Organization } from "../src/orgs/model";
import { withRuntime } from "./context";
import { printList, printRecord } from "./output";
import { nonEmpty } from "./text-option";

/** An organization as the CLI prints it (snake_case like the API). */
const view = (o: Organization) => ({ id: o.id, name: o.name, slug: o.slug, created_at: o.createdAt });

/** `taskmgr orgs create NAME [--slug S]`, `taskmgr orgs list`. */
export function registerOrgs(program: Command): void {
  const orgs = program.command("orgs").description("manage organizations");

  orgs
    .command("create")
    .description("create an organization (the slug is derived from the name unless given)")
    .argument("<name>", "display name")
    .option("--slug <slug>", "URL-safe identifier (lowercase letters, digits, dashes)", nonEmpty)
    .option("--json", "print the organization as JSON")
    .action((name: string, opts: { slug?: string; json?: boolean }, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const org = await services.orgs.create(name, opts.slug);
        printRecord(view(org), opts.json === true, `created organization ${org.slug} (${org.id})`);
      }),
    );

  orgs
    .command("list")
    .description("list organizations")
    .option("--json", "print a JSON array")
    .action((opts: { json?: boolean }, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const rows = (await services.orgs.list()).map(view);
        printList(
          rows,
          [
            { header: "SLUG", value: (o) => o.slug },
            { header: "NAME", value: (o) => o.name },
            { header: "ID", value: (o) => o.id },
            { header: "CREATED_AT", value: (o) => o.created_at },
          ],
          opts.json === true,
        );
      }),
    );
}
