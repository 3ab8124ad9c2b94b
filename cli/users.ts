import { Argument, Option, type Command } from "commander";
import { slugKey } from "../src/orgs/model";
import { type Role, ROLES, toUserView, type User } from "../src/users/model";
import { orgSlugs, type Runtime, withRuntime } from "./context";
import { printList, printRecord } from "./output";
import { readSecret } from "./stdin";
import { nonEmpty } from "./text-option";

interface CreateOpts {
  org: string;
  email: string;
  name?: string;
  role?: Role;
  password?: string;
  json?: boolean;
}

/**
 * A warning on stderr when the organization of `user` (an admin just deactivated, or a user whose
 * role was just set) has no active admin (the command still succeeds): nobody there can read its metrics, moderate
 * comments or revoke others' devices until one is made.
 */
async function warnWithoutAdmin(rt: Runtime, user: User): Promise<void> {
  if (await rt.services.users.hasActiveAdmin(user.orgId)) return;
  const slug = (await orgSlugs(rt)).get(user.orgId) ?? user.orgId;
  process.stderr.write(`warning: organization ${slug} has no active admin: make one with \`taskmgr users set-role EMAIL admin\` (and \`taskmgr users activate EMAIL\` if deactivated)\n`);
}

/** `taskmgr users create|list|set-password|set-role|deactivate|activate`. */
export function registerUsers(program: Command): void {
  const users = program.command("users").description("manage user accounts");

  users
    .command("create")
    .description("create a user (without --password, the password is read from standard input)")
    .requiredOption("--org <slug>", "organization slug", nonEmpty)
    .requiredOption("--email <email>", "email address (the login)", nonEmpty)
    .option("--name <name>", "display name")
    .addOption(new Option("--role <role>", "role").choices(ROLES).default("member"))
    .option("--password <password>", "password (visible to other local users: prefer standard input)")
    .option("--json", "print the user as JSON")
    .action((opts: CreateOpts, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const password = opts.password ?? (await readSecret("password"));
        const user = await services.users.create({ orgSlug: opts.org, email: opts.email, name: opts.name, role: opts.role, password });
        // The organization's slug as stored, not `--org` as typed (found in any letter case, spaces around it ignored).
        printRecord(toUserView(user), opts.json === true, `created ${user.role} ${user.email} in ${slugKey(opts.org)} (${user.id})`);
      }),
    );

  users
    .command("list")
    .description("list users, of every organization or of one")
    .option("--org <slug>", "only this organization", nonEmpty)
    .option("--json", "print a JSON array")
    .action((opts: { org?: string; json?: boolean }, self: Command) =>
      withRuntime(self, async (rt) => {
        const rows = await rt.services.users.listAcrossOrgs(opts.org);
        const slugs = await orgSlugs(rt);
        printList(
          rows,
          [
            { header: "EMAIL", value: (u: User) => u.email },
            { header: "NAME", value: (u: User) => u.name },
            { header: "ROLE", value: (u: User) => u.role },
            { header: "ORG", value: (u: User) => slugs.get(u.orgId) },
            { header: "ACTIVE", value: (u: User) => u.active },
            { header: "ID", value: (u: User) => u.id },
          ],
          opts.json === true,
          toUserView,
        );
      }),
    );

  users
    .command("set-password")
    .description("set a user's password, read from standard input; ends the user's sessions")
    .argument("<email>", "the user's email", nonEmpty)
    .action((email: string, _opts, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const password = await readSecret("password");
        const user = await services.users.setPassword(email, password);
        console.log(`password changed for ${user.email}; their sessions are ended`);
      }),
    );

  users
    .command("set-role")
    .description("make a user an admin of their organization, or a member; takes effect on their next request")
    .argument("<email>", "the user's email", nonEmpty)
    .addArgument(new Argument("<role>", "the new role").choices(ROLES))
    .action((email: string, role: Role, _opts, self: Command) =>
      withRuntime(self, async (rt) => {
        const user = await rt.services.users.setRole(email, role);
        console.log(`${user.email} is ${user.role === "admin" ? "an admin" : "a member"}`);
        await warnWithoutAdmin(rt, user); // made a member, or an admin who is deactivated
      }),
    );

  users
    .command("deactivate")
    .description("deactivate a user: logins fail and their sessions end")
    .argument("<email>", "the user's email", nonEmpty)
    .action((email: string, _opts, self: Command) =>
      withRuntime(self, async (rt) => {
        const user = await rt.services.users.deactivate(email);
        console.log(`deactivated ${user.email}`);
        if (user.role === "admin") await warnWithoutAdmin(rt, user);
      }),
    );

  users
    .command("activate")
    .description("reactivate a deactivated user: they can log in again (the sessions deactivation ended stay ended)")
    .argument("<email>", "the user's email", nonEmpty)
    .action((email: string, _opts, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const user = await services.users.activate(email);
        console.log(`activated ${user.email}`);
      }),
    );
}
