import { invalid } from "../errors";
import { hasNul, NUL_REASON } from "../wire/text";

/** Argon2id cost parameters (Bun's defaults: 64 MiB, 2 passes); tests lower them for speed. */
export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
}

const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** Hashes and checks passwords with Argon2id. The hash string carries its own parameters. */
export class PasswordHasher {
  private dummy: Promise<string> | null = null;
  constructor(private readonly cost?: Argon2Cost) {}

  hash(password: string): Promise<string> {
    return Bun.password.hash(password, { algorithm: "argon2id", ...this.cost });
  }

  async verify(password: string, hash: string): Promise<boolean> {
    try {
      return await Bun.password.verify(password, hash, "argon2id");
    } catch {
      return false;
    }
  }

  /** Spends the same work as a real check when there is no account, so timing does not reveal which emails exist. */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= this.hash(crypto.randomUUID());
    await this.verify(password, await this.dummy);
    return false;
  }
}

/**
 * Throws a 422 naming `password` unless it satisfies the policy: a length (passphrases welcome), and
 * no NUL character, which a login can never send (every request's text refuses it).
 */
export function checkPasswordPolicy(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw invalid({ password: `must be at least ${MIN_PASSWORD_LENGTH} characters` });
  if (password.length > MAX_PASSWORD_LENGTH) throw invalid({ password: `must be at most ${MAX_PASSWORD_LENGTH} characters` });
  if (hasNul(password)) throw invalid({ password: NUL_REASON });
}

/** A random password for generated accounts (bootstrap): 24 URL-safe characters, ~143 bits. */
export function generatePassword(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
}
