// Disk full: `edr listen`'s queue directory on a small tmpfs (3 MiB, a 1 MiB filler file on it), the remote down
// (every write answered 503), two writers sending new lines all the time, each honouring Retry-After. The queue
// grows until the disk is full, and then:
//
// - writes are refused with 503, a Retry-After header and a body that says the disk is full; once edr knows
//   the disk is full, it refuses writes before forwarding them, so the local instance does not store lines that
//   are not queued (only the write that found the disk full, and one probe per Retry-After, reach it);
// - /status answers, the process keeps running, and nothing queued before is lost (the queue holds every line
//   answered 204);
// - once space returns (the filler deleted; later the remote back, draining the queue) edr takes writes again
//   by itself, without a restart;
// - at the end the remote holds exactly the lines answered 204: none lost, none of a refused write.
//
// Where tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN), or with EDR_DISK_FULL_FSIZE=1, the queue is in a
// plain temp directory and the running edr gets a 2 MiB file-size limit (`prlimit --pid … --fsize`): appends then
// fail with EFBIG, and space returns only when the remote drains the queue (there is no filler to delete).
// Replay with the seed: EDR_DISK_FULL_SEED=<seed> npx vitest run --project reliability test/reliability/disk-full.test.ts
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LISTEN_READY,
  fetchStatus,
  startEdrCommand,
  takenLines,
  type ReplicatorStatus,
  type StartedEdr,
} from "./helpers/edr-process.js";
import { Rng, seedFrom } from "./helpers/seed.js";
import { few, post } from "./helpers/stores.js";
import { until } from "./helpers/wait.js";

const SEED = seedFrom("EDR_DISK_FULL_SEED");
const REMOTE_TOKEN = "disk-full-remote-token-16180";
const LOCAL_TOKEN = "disk-full-local-token-14142";
const LOCAL_AUTH = { authorization: `Bearer ${LOCAL_TOKEN}` };
const TMPFS_BYTES = 3 * 1024 * 1024;
const FILLER_BYTES = 1024 * 1024;
/** Without tmpfs: the file-size limit of the edr process. */
const FSIZE_BYTES = 2 * 1024 * 1024;
const WRITERS = 2;
const LINES_PER_WRITE = 100;

/** One write: its lines (by number), and every answer it got. */
interface Write {
  readonly writer: number;
  readonly numbers: readonly number[];
  status: number | undefined;
  text: string;
  retryAfter: string | null;
  atMs: number;
}

let base: string;
let mnt: string;
let mounted = false;
let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let edr: StartedEdr | undefined;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "edr-disk-full-"));
  mnt = join(base, "small");
  await mkdir(mnt, { recursive: true });
  if (process.env["EDR_DISK_FULL_FSIZE"] !== "1") {
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_BYTES}`, "tmpfs", mnt], { stdio: "pipe" });
      mounted = true;
    } catch (error) {
      console.log(
        `[disk-full] cannot mount tmpfs (${String(error).split("\n")[0]}): prlimit --fsize instead`,
      );
    }
  }
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
});

afterAll(async () => {
  if (edr !== undefined && edr.child.process.exitCode === null) {
    edr.child.process.kill("SIGKILL");
    await edr.child.exited;
  }
  await Promise.all([local?.close(), remote?.close()]);
  if (mounted) execFileSync("umount", ["-l", mnt]);
  await rm(base, { recursive: true, force: true });
  console.log(`[disk-full] seed ${SEED} (replay with EDR_DISK_FULL_SEED=${SEED})`);
});

function output(): string {
  return edr === undefined
    ? ""
    : `--- edr stderr ---\n${edr.child.stderr()}\n--- stdout ---\n${edr.child.stdout()}`;
}

describe(`disk full under the queue of edr listen (seed ${SEED})`, () => {
  it(
    "refuses writes with 503 and Retry-After, loses nothing, and recovers by itself when space returns",
    { timeout: 180_000 },
    async () => {
      const rng = new Rng(SEED, 1);
      const dir = join(mnt, "queue");
      await mkdir(dir);
      const filler = join(mnt, "filler");
      if (mounted) await writeFile(filler, Buffer.alloc(FILLER_BYTES, 7));
      remote.faults.failAll({ status: 503, retryAfter: 1 });

      edr = await startEdrCommand({
        args: [
          "listen",
          "--listen",
          "127.0.0.1:0",
          "--flush-interval",
          "1s",
          "--local-url",
          local.url,
          "--local-db",
          "edge",
          "--trigger-arguments",
          [`host=${remote.url}`, "database=central", `queue_dir=${dir}`, "timeout=10s"].join(","),
        ],
        env: { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
        urlPattern: LISTEN_READY,
        readyTimeoutMs: 60_000,
      });
      const url = edr.url;
      const pid = edr.child.process.pid!;
      if (!mounted) execFileSync("prlimit", ["--pid", String(pid), `--fsize=${FSIZE_BYTES}:${FSIZE_BYTES}`]);

      // The writers: new lines every time (a refused write is not sent again: its lines must then never reach
      // the remote), after a 503 waiting what Retry-After says.
      const writes: Write[] = [];
      let next = 0;
      let stopping = false;
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const writer = async (w: number): Promise<void> => {
        const wrng = new Rng(SEED, 10 + w);
        while (!stopping) {
          const numbers: number[] = [];
          const lines: string[] = [];
          for (let i = 0; i < LINES_PER_WRITE; i++) {
            const n = next++;
            numbers.push(n);
            // Random digits, so the queue's gzip does not squeeze them away.
            const pad = Array.from({ length: 6 }, () => wrng.float().toString(36).slice(2)).join("");
            lines.push(`load,writer=w${w} n=${n}i,pad="${pad}" ${t0 + BigInt(n)}`);
          }
          const write: Write = {
            writer: w,
            numbers,
            status: undefined,
            text: "",
            retryAfter: null,
            atMs: Date.now(),
          };
          writes.push(write);
          try {
            const answer = await post(
              `${url}/api/v3/write_lp?db=edge&precision=ns`,
              lines.join("\n"),
              LOCAL_AUTH,
              30_000,
            );
            write.status = answer.status;
            write.text = answer.text;
            write.retryAfter = answer.headers.get("retry-after");
          } catch (error) {
            write.text = String(error);
          }
          if (write.status === 503) await sleep(Math.min(5, Number(write.retryAfter ?? 1)) * 1000);
          else await sleep(rng.between(0, 20));
        }
      };
      const running = Array.from({ length: WRITERS }, (_, w) => writer(w));

      const refusedSince = (from: number) => writes.slice(from).filter((w) => w.status === 503);
      const accepted = () => writes.filter((w) => w.status === 204);
      let status: ReplicatorStatus | undefined;
      try {
        // 1. The disk fills up.
        await until(
          "a write refused because the disk is full",
          () => writes.some((w) => w.status === 503),
          90_000,
          () => `${writes.length} writes, last: ${JSON.stringify(writes.at(-1))}\n${output()}`,
        );
        const firstFull = writes.findIndex((w) => w.status === 503);
        // Writes go on for a few seconds against the full disk.
        await until("ten more writes refused", () => refusedSince(firstFull).length >= 10, 60_000, output);
        const full = refusedSince(firstFull);
        for (const write of full) {
          expect(write.text, "the refusal says what is wrong").toMatch(
            /(ENOSPC|EFBIG).*full|full.*(ENOSPC|EFBIG)/,
          );
          expect(write.text).toMatch(/retry/i);
          expect(Number(write.retryAfter), `Retry-After of ${write.text}`).toBeGreaterThanOrEqual(1);
        }
        const other = writes.filter((w) => w.status !== undefined && w.status !== 204 && w.status !== 503);
        expect(
          other.map((w) => `${w.status} ${w.text}`),
          "answers other than 204 and 503",
        ).toEqual([]);
        // Still serving, and every line answered 204 is queued: nothing lost.
        expect(edr.child.process.exitCode, output()).toBeNull();
        status = await fetchStatus(url);
        const acceptedLines = accepted().length * LINES_PER_WRITE;
        // Taken: in the queue, or received and waiting to be moved there (the move finds the disk full too).
        expect(status.queue.entries + (status.intake?.entries ?? 0), JSON.stringify(status)).toBe(
          acceptedLines,
        );
        expect(takenLines(status)).toBe(acceptedLines);
        // The local instance holds the lines of the accepted writes, and of refused writes only those of the
        // refusals that found the disk full after forwarding (at most one per writer per Retry-After).
        const localNumbers = new Set(local.points("edge", "load").map((p) => Number(p.fields["n"]!.value)));
        const storedButRefused = full.filter((w) => w.numbers.every((n) => localNumbers.has(n)));
        const refusedBefore = full.filter((w) => w.numbers.every((n) => !localNumbers.has(n)));
        expect(storedButRefused.length + refusedBefore.length, "a refused write half stored").toBe(
          full.length,
        );
        for (const write of storedButRefused)
          expect(write.text).toMatch(/reached the local instance but is not yet queued/);
        for (const write of refusedBefore) expect(write.text).toMatch(/not accepting writes for now/);
        expect(
          refusedBefore.length,
          `refused writes the local instance stored anyway: ${storedButRefused.length} of ${full.length}`,
        ).toBeGreaterThan(storedButRefused.length);
        console.log(
          `[disk-full] full after ${firstFull} writes (${acceptedLines} lines queued); ${full.length} refusals so far, ` +
            `${storedButRefused.length} of them after the local instance stored the write`,
        );

        if (mounted) {
          // 2. Space returns (the filler goes): writes are taken again, same process.
          const beforeFree = writes.length;
          await rm(filler);
          await until(
            "a write accepted after the filler was deleted",
            () => writes.slice(beforeFree).some((w) => w.status === 204),
            60_000,
            () => `last: ${JSON.stringify(writes.at(-1))}\n${output()}`,
          );
          // 3. Full again (the queue grows into the freed space).
          const beforeSecond = writes.length;
          await until("the disk full again", () => refusedSince(beforeSecond).length >= 2, 90_000, output);
        }
        // The remote comes back and drains the queue: space returns (the drained head is deleted).
        const beforeRemote = writes.length;
        remote.faults.clear();
        await until(
          "a write accepted once the remote drained the queue",
          () => writes.slice(beforeRemote).some((w) => w.status === 204),
          90_000,
          async () => `${JSON.stringify(await fetchStatus(url))}\n${output()}`,
        );
      } finally {
        stopping = true;
        await Promise.all(running);
      }

      // 4. Everything drains; the remote holds exactly the lines answered 204.
      await until(
        "the queue drained",
        async () => {
          status = await fetchStatus(url);
          return status.queue.entries === 0 && status.intake?.entries === 0;
        },
        60_000,
        () => `${JSON.stringify(status)}\n${output()}`,
      );
      expect(edr.child.process.pid).toBe(pid);
      expect(edr.child.process.exitCode).toBeNull();
      const want = new Set(accepted().flatMap((w) => w.numbers));
      const got = remote.points("central", "load").map((p) => Number(p.fields["n"]!.value));
      const gotSet = new Set(got);
      const missing = [...want].filter((n) => !gotSet.has(n)).map(String);
      const unexpected = got.filter((n) => !want.has(n)).map(String);
      expect(missing, `answered 204, not on the remote: ${few(missing)}`).toEqual([]);
      expect(unexpected, `on the remote, never answered 204: ${few(unexpected)}`).toEqual([]);
      expect(got.length).toBe(want.size);
      expect(status.lines.deadLettered).toBe(0);
      // The log says when the disk filled up and when it had room again.
      expect(edr.child.stderr(), output()).toMatch(/the disk under the queue is full \((ENOSPC|EFBIG)\)/);
      expect(edr.child.stderr(), output()).toMatch(/the disk under the queue has room again/);
      expect(status.state, JSON.stringify(status)).toBe("healthy");
      expect(edr.child.stderr()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
      console.log(
        `[disk-full] (${mounted ? `${TMPFS_BYTES} B tmpfs` : `fsize limit ${FSIZE_BYTES} B`}) ${writes.length} writes: ${accepted().length} answered 204 (${want.size} lines, all on the remote), ` +
          `${writes.filter((w) => w.status === 503).length} refused with 503`,
      );
    },
  );
});
