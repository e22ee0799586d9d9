import type { CommonConfig } from "./config.js";

/** What a token is replaced with by {@link redactConfig}. */
export const REDACTED = "<secret>";

/**
 * A copy of a config that is safe to log or print (`edr status`): the remote and local tokens are replaced
 * by `<secret>`; everything else is shared with the original, which is left untouched.
 */
export function redactConfig<T extends CommonConfig>(config: T): T {
  const local = config.local.token === undefined ? config.local : { ...config.local, token: REDACTED };
  return { ...config, remote: { ...config.remote, token: REDACTED }, local };
}
