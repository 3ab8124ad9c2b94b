import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../config";
import { type FileExposure, fileExposure } from "../file-exposure";

export const secretPath = (dataDir: string): string => join(dataDir, "secret");

/**
 * The token-signing key: `TASKMGR_SECRET` when set, else the contents of `dataDir/secret`,
 * generated on first use (48 random bytes, file mode 0600, folder created if needed).
 * A new secret is written aside and hard-linked into place (which fails if the file exists),
 * so two processes starting together agree on one complete secret.
 * The key is SHA-256 of the secret: always 256 bits, whatever length an operator chose.
 */
export function loadSecret(config: Pick<Config, "secret" | "dataDir">): Uint8Array {
  if (config.secret) return derive(config.secret, "TASKMGR_SECRET");
  const path = secretPath(config.dataDir);
  const existing = readIfExists(path);
  if (existing !== null) return derive(existing, path);
  mkdirSync(config.dataDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${crypto.randomUUID()}`;
  try {
    writeFileSync(tmp, Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true }); // also when it could not be written (a full disk): no litter left
  }
  return derive(readFileSync(path, "utf8"), path);
}

/**
 * Why other users of the machine may read or replace the secret file ({@link fileExposure}: its mode,
 * its owner, its folder), or null: safe, `TASKMGR_SECRET` used instead, or no file. Whoever reads the
 * secret can sign an access token of any account, and whoever replaces it chooses the secret: `serve`
 * warns (`secret_file_mode`).
 */
export function exposedSecret(config: Pick<Config, "secret" | "dataDir">): FileExposure | null {
  return config.secret ? null : fileExposure(secretPath(config.dataDir));
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function derive(secret: string, source: string): Uint8Array {
  const s = secret.trim();
  if (s === "") throw new Error(`the secret in ${source} is empty`);
  return new Uint8Array(createHash("sha256").update("taskmgr-access-token\0").update(s).digest());
}
