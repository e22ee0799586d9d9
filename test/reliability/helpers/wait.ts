import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `condition` every `everyMs` until it holds; throws after `timeoutMs`, with `describe()` (the state
 * that was waited on) in the message.
 */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string | Promise<string> = () => "",
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms. ${await describe()}`);
    await sleep(everyMs);
  }
}
