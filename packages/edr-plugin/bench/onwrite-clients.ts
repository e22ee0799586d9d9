// The writing clients of the on-write and catch-up benches: each one a keep-alive connection posting its
// bodies to `/api/v3/write_lp` one after another (the next once the last is answered), as an agent does.
import * as http from "node:http";
import { benchBody, isStamped, LOCAL_DB, LOCAL_TOKEN } from "./onwrite-data.js";

const WRITE_PATH = `/api/v3/write_lp?db=${LOCAL_DB}&precision=nanosecond`;

/** Posts one gzipped body; resolves on 204, rejects with the answer otherwise. */
export function postBody(agent: http.Agent, url: URL, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path: WRITE_PATH,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${LOCAL_TOKEN}`,
          "content-type": "text/plain; charset=utf-8",
          "content-encoding": "gzip",
          "content-length": body.length,
        },
      },
      (res) => {
        const pieces: Buffer[] = [];
        res.on("data", (piece: Buffer) => pieces.push(piece));
        res.on("end", () =>
          res.statusCode === 204
            ? resolve()
            : reject(
                new Error(`write: ${res.statusCode} ${Buffer.concat(pieces).toString("utf8").slice(0, 300)}`),
              ),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Seconds for every client to post all its bodies, the clients at once (`bodies[client][b]`). */
export async function postAll(url: string, bodies: readonly (readonly Buffer[])[]): Promise<number> {
  const target = new URL(url);
  const agents = bodies.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    const started = performance.now();
    await Promise.all(
      bodies.map(async (own, c) => {
        for (const body of own) await postBody(agents[c]!, target, body);
      }),
    );
    return (performance.now() - started) / 1000;
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** A steady ingest running in the background. */
export interface SteadyIngest {
  /** Lines whose write was answered 204 so far. */
  readonly acked: number;
  /** Bodies posted later than their turn (the clients could not keep the rate). */
  readonly late: number;
  /** The first write that failed (the clients stop at it), if any. */
  readonly failure: Error | undefined;
  /** Stops posting, waits for the writes in flight; rejects with the first failed write, if any. */
  stop(): Promise<void>;
}

/**
 * `clients` clients posting `linesPerBody`-line bodies, built as they go (unique lines, one body in five
 * unstamped), so that together they write `linesPerSecond`: client c posts its k-th body at
 * start + (k * clients + c) * linesPerBody / linesPerSecond, or at once when it is behind.
 */
export function startSteadyIngest(
  url: string,
  clients: number,
  linesPerBody: number,
  linesPerSecond: number,
): SteadyIngest {
  const target = new URL(url);
  const intervalMs = (linesPerBody / linesPerSecond) * 1000;
  const started = performance.now();
  let stopping = false;
  let failure: Error | undefined;
  const state = { acked: 0, late: 0 };
  const agents: http.Agent[] = [];
  const runs = Array.from({ length: clients }, async (_, c) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    for (let k = 0; !stopping; k++) {
      const turn = k * clients + c;
      const wait = started + turn * intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else if (wait < -intervalMs) state.late++;
      if (stopping) break;
      try {
        await postBody(agent, target, benchBody(turn * linesPerBody, linesPerBody, isStamped(k)));
        state.acked += linesPerBody;
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
        stopping = true;
      }
    }
  });
  return {
    get acked() {
      return state.acked;
    },
    get late() {
      return state.late;
    },
    get failure() {
      return failure;
    },
    stop: async () => {
      stopping = true;
      await Promise.all(runs);
      for (const agent of agents) agent.destroy();
      if (failure !== undefined) throw failure;
    },
  };
}
