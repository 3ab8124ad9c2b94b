import type { Command } from "commander";
import { toDeviceView, type Device } from "../src/devices/model";
import { idArgument } from "./id-argument";
import { withRuntime } from "./context";
import { printable, printList } from "./output";
import { nonEmpty } from "./text-option";

/** `taskmgr devices list [--user EMAIL]`, `taskmgr devices revoke ID`. */
export function registerDevices(program: Command): void {
  const devices = program.command("devices").description("manage users' devices");

  devices
    .command("list")
    .description("list devices, of every user or of one (revoked ones included)")
    .option("--user <email>", "only this user's devices", nonEmpty)
    .option("--json", "print a JSON array")
    .action((opts: { user?: string; json?: boolean }, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const rows = await services.devices.listAcrossOrgs(opts.user);
        const emails = new Map((await services.users.findAnyOrg(rows.map((d) => d.userId))).map((u) => [u.id, u.email]));
        printList<Device>(
          rows,
          [
            { header: "ID", value: (d) => d.id },
            { header: "USER", value: (d) => emails.get(d.userId) ?? d.userId },
            { header: "NAME", value: (d) => d.name },
            { header: "PLATFORM", value: (d) => d.platform },
            { header: "LAST_SEEN_AT", value: (d) => d.lastSeenAt },
            { header: "REVOKED_AT", value: (d) => d.revokedAt },
          ],
          opts.json === true,
          toDeviceView,
        );
      }),
    );

  devices
    .command("revoke")
    .description("revoke a device: its tokens stop working on the next request")
    .addArgument(idArgument("device id"))
    .action((id: string, _opts, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const device = await services.devices.revokeAnyOrg(id);
        console.log(printable(`revoked device ${device.id} (${device.name})`));
      }),
    );
}
