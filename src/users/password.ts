import { invalid } from "../errors";
import { characters, hasNul, NUL_REASON } from "../wire/text";

/** Argon2id cost parameters ({@link DEFAULT_ARGON2} in production); tests lower them for speed. */
export interface Argon2Cost {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
}

/**
 * The cost of production hashes: 64 MiB, 2 passes (one lane), Bun's defaults when this was written,
 * stated here so that a Bun upgrade that changed its defaults changes nothing unannounced. A stored
 * hash of other parameters is replaced at its user's next successful login ({@link PasswordHasher.needsRehash}).
 */
export const DEFAULT_ARGON2: Argon2Cost = { memoryCost: 65536, timeCost: 2 };

const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/**
 * The form a password is hashed in: Unicode NFC (RFC 8265's OpaqueString profile), so that an "é"
 * typed precomposed (U+00E9) on one device and as "e" + U+0301 on another is the same password.
 */
const hashedForm = (password: string): string => password.normalize("NFC");

/**
 * Hashes and checks passwords with Argon2id, in their {@link hashedForm}. The hash string carries its
 * own parameters.
 */
export class PasswordHasher {
  private dummy: Promise<string> | null = null;
  private readonly cost: Argon2Cost;
  constructor(cost?: Argon2Cost) {
    this.cost = cost ?? DEFAULT_ARGON2;
  }

  hash(password: string): Promise<string> {
    return Bun.password.hash(hashedForm(password), { algorithm: "argon2id", ...this.cost });
  }

  /**
   * Whether `hash` was made otherwise than {@link hash} makes one now (another algorithm, other
   * Argon2 parameters): such a hash costs another time to check than the one {@link verifyNothing}
   * checks for an unknown email, so that the time of a failed login would tell the account exists,
   * and it keeps the strength of its day. Login replaces it (src/auth/service.ts).
   */
  needsRehash(hash: string): boolean {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$/.exec(hash);
    return m === null || Number(m[1]) !== this.cost.memoryCost || Number(m[2]) !== this.cost.timeCost;
  }

  /**
   * Whether `password` is the one `hash` was made of: its {@link hashedForm}, or else the password
   * exactly as typed, which is what versions before 2026-12-07 hashed (an account whose password
   * was set then in another form than NFC keeps working as it was typed; a new password makes it
   * NFC). A password already in NFC costs one check, one in another form two — as much for an
   * unknown email ({@link verifyNothing}).
   */
  async verify(password: string, hash: string): Promise<boolean> {
    const form = hashedForm(password);
    if (await this.matches(form, hash)) return true;
    return form !== password && (await this.matches(password, hash));
  }

  private async matches(password: string, hash: string): Promise<boolean> {
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
 * Throws a 422 naming `password` unless it satisfies the policy: a length in characters (passphrases welcome), and
 * no NUL character, which a login can never send (every request's text refuses it).
 */
export function checkPasswordPolicy(password: string): void {
  const length = characters(password); // code points, as a login's body counts them: an emoji is one
  if (length < MIN_PASSWORD_LENGTH) throw invalid({ password: `must be at least ${MIN_PASSWORD_LENGTH} characters` });
  if (length > MAX_PASSWORD_LENGTH) throw invalid({ password: `must be at most ${MAX_PASSWORD_LENGTH} characters` });
  if (hasNul(password)) throw invalid({ password: NUL_REASON });
}

/** A random password for generated accounts (bootstrap): 24 URL-safe characters, ~143 bits. */
export function generatePassword(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
}
