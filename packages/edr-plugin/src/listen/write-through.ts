// One write to the replicated database: read the body once, stamp lines that have no timestamp, forward it
// to the local instance with the client's own credentials, hand the lines the local instance stored to the
// intake (durably), and only then give the client the local instance's answer.
import { isUtf8 } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ReplicatorLogger } from "../logger.js";
import { diskFullCode, type DiskFullGate } from "./disk-full-gate.js";
import { errorReply, sendReply, tooLargeReply, type Reply } from "./error-replies.js";
import { findLineFates, type LineFates, type Resend } from "./line-fates.js";
import { stampIn, toNanosText } from "./line-times.js";
import {
  LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS,
  LocalUnreachableError,
  passedRequestHeaders,
  passedResponseHeaders,
  postToLocal,
  type LocalAnswer,
  type LocalTarget,
} from "./local-client.js";
import { isRefusal, readWriteBody } from "./request-body.js";
import { invalidPrecisionMessage, type WriteApi, type WriteParams } from "./write-endpoints.js";
import type { ReceivedWrite, WriteIntake } from "./write-intake.js";
import { intakeLines, scanWriteLines, sentLine, stampedBody } from "./write-lines.js";
import { errorMessage, judgeAnswer, type StoredVerdict } from "./write-outcome.js";

/** What a write needs from the server. */
export interface WriteContext {
  target: LocalTarget;
  intake: WriteIntake;
  logger: ReplicatorLogger;
  /** The current time in milliseconds since the epoch, for lines without a timestamp. */
  now: () => number;
  maxBodyBytes: number;
  /** Refuses writes before they reach the local instance while the disk under the queue is full. */
  diskFull: DiskFullGate;
  /** Whether the server is closing (answers then ask the client to close the connection). */
  closing(): boolean;
  /** The local instance could not be reached (message for the log), or (undefined) it answered. */
  reachability(unreachable: string | undefined): void;
}

/** Seconds a client is asked to wait when the write could not be queued and no refusal says how long. */
export const ACCEPT_FAILED_RETRY_AFTER_SECONDS = 1;

/** Handles one POST to a write endpoint whose database is the replicated one; never throws for a bad request. */
export async function handleWrite(
  req: IncomingMessage,
  res: ServerResponse,
  api: WriteApi,
  params: WriteParams,
  ctx: WriteContext,
): Promise<void> {
  const v2 = api === "v2";
  const reply = (answer: Reply): void => sendReply(res, answer, ctx.closing());
  const unit = params.unit;
  if (unit === undefined) return reply(errorReply(v2, 400, invalidPrecisionMessage(api, params.precision)));
  const refusal = ctx.intake.refusal();
  if (refusal !== undefined) {
    const message = `edr listen: not accepting writes for now: ${refusal.reason}; retry after ${refusal.retryAfterSeconds} s`;
    return reply(errorReply(v2, 503, message, refusal.retryAfterSeconds));
  }
  const admission = ctx.diskFull.admit();
  if (!admission.pass) {
    const message = `edr listen: not accepting writes for now: ${admission.reason}; retry after ${admission.retryAfterSeconds} s`;
    return reply(errorReply(v2, 503, message, admission.retryAfterSeconds));
  }
  let settled: "queued" | "disk-full" | "unknown" = "unknown";
  let code: string | undefined;
  try {
    return await forwardAndQueue(req, res, api, params, ctx, (outcome, errorCode) => {
      settled = outcome;
      code = errorCode;
    });
  } finally {
    ctx.diskFull.settle(admission, settled, code);
  }
}

/** The rest of {@link handleWrite}, once the write may go to the local instance; `queued` says how queueing went. */
async function forwardAndQueue(
  req: IncomingMessage,
  res: ServerResponse,
  api: WriteApi,
  params: WriteParams,
  ctx: WriteContext,
  queued: (outcome: "queued" | "disk-full", code?: string) => void,
): Promise<void> {
  const v2 = api === "v2";
  const reply = (answer: Reply): void => sendReply(res, answer, ctx.closing());
  const unit = params.unit!;
  const body = await readWriteBody(req, ctx.maxBodyBytes);
  if (isRefusal(body)) {
    return reply(
      body.status === 413 ? tooLargeReply(v2, ctx.maxBodyBytes) : errorReply(v2, body.status, body.message),
    );
  }
  // A stamped body is re-encoded: invalid bytes would come out as U+FFFD, data nobody wrote.
  if (!isUtf8(body.decoded)) return reply(errorReply(v2, 400, "the request body is not valid UTF-8"));
  const write = scanWriteLines(body.decoded);
  const stamp = write.unstamped > 0 ? stampIn(unit, ctx.now()) : "";
  // With every line timestamped the client's bytes go as they came (gzipped or not); otherwise the
  // stamped lines go as plain text: the local instance is near, and gzip would cost more than it saves.
  const stamped = write.unstamped > 0;
  const forward = stamped ? stampedBody(write, stamp, body.decoded.length) : body.wire;
  const headers = passedRequestHeaders(
    req.headers,
    stamped ? ["content-length", "content-encoding"] : ["content-length"],
  );
  const path = req.url ?? "/";
  const pathname = path.split("?", 1)[0]!;

  let answer: LocalAnswer;
  try {
    answer = await postToLocal(ctx.target, path, headers, forward);
    ctx.reachability(undefined);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof LocalUnreachableError) {
      ctx.reachability(reason);
      const message = `edr listen: ${reason}; nothing was written`;
      return reply(errorReply(v2, 503, message, LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS));
    }
    ctx.logger.warn(
      `[edr listen] ${pathname}: ${reason}; ${write.count} lines not queued, the client is told to retry`,
    );
    const message = `edr listen: ${reason}; the write may have reached the local instance but is not queued for the remote: retry it`;
    return reply(errorReply(v2, 502, message));
  }

  let sent: string[] | undefined;
  const sentLines = (): string[] =>
    (sent ??= Array.from({ length: write.count }, (_, i) => sentLine(write, i, stamp)));
  const verdict = judgeAnswer(answer.status, answer.body.toString("utf8"), sentLines);
  let stored: number[] | undefined;
  let fates: LineFates | undefined;
  switch (verdict.kind) {
    case "all":
      stored = undefined;
      break;
    case "none":
      stored = [];
      break;
    case "some":
      stored = [];
      for (let i = 0; i < write.count; i++) if (!verdict.rejected.has(i)) stored.push(i);
      break;
    case "unknown": {
      const resendHeaders = passedRequestHeaders(req.headers, ["content-length", "content-encoding"]);
      fates = await findLineFates(write.count, verdict, resender(ctx, path, resendHeaders, sentLines()));
      stored = fates.stored;
      ctx.logger.info(
        `[edr listen] ${pathname}: the local instance stored part of ${write.count} lines without saying which ` +
          `(${verdict.reason}); found by sending ${fates.resent} parts again: ${fates.stored.length} stored, ` +
          `${fates.refused} refused${fates.undetermined > 0 ? `, ${fates.undetermined} undetermined (${fates.failure})` : ""}`,
      );
      break;
    }
  }

  const count = stored === undefined ? write.count : stored.length;
  if (count > 0) {
    const received = { wire: body.wire, encoding: body.encoding, lines: write, unit, stamp, stored };
    try {
      const kept =
        ctx.intake.acceptWrite !== undefined
          ? await ctx.intake.acceptWrite(received)
          : await acceptLines(ctx, received, pathname);
      if (kept > 0) queued("queued");
    } catch (error) {
      const full = diskFullCode(error);
      if (full !== undefined) queued("disk-full", full);
      const reason = error instanceof Error ? error.message : String(error);
      ctx.logger.error(
        `[edr listen] ${pathname}: ${count} lines stored by the local instance are not queued for the remote: ${reason}; the client is told to retry`,
      );
      const retryAfter = safeRefusal(ctx.intake)?.retryAfterSeconds ?? ACCEPT_FAILED_RETRY_AFTER_SECONDS;
      const message =
        `edr listen: the write reached the local instance but is not yet queued for the remote (${reason}): ` +
        `retry it (writing identical points again is harmless)`;
      return reply(errorReply(v2, 503, message, retryAfter));
    }
  }
  if (fates !== undefined && fates.undetermined > 0) {
    const message =
      `edr listen: the local instance stored part of the write without saying which lines, and finding out failed ` +
      `(${fates.failure}): retry it (writing identical points again is harmless)`;
    return reply(errorReply(v2, 503, message, LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS));
  }
  relayAnswer(res, answer, ctx.closing());
}

/** The lines of a write for an intake that takes lines only (not whole writes). */
function acceptLines(ctx: WriteContext, write: ReceivedWrite, pathname: string): Promise<number> {
  const stampNs = write.stamp === "" ? "" : toNanosText(write.stamp, write.unit)!;
  const batch = intakeLines(write.lines, write.stored, write.unit, stampNs);
  if (batch.outOfRange > 0) {
    ctx.logger.warn(
      `[edr listen] ${pathname}: ${batch.outOfRange} lines the local instance stored have a timestamp outside the nanosecond range; not queued`,
    );
  }
  return ctx.intake.accept(batch.lines);
}

/** Re-sends parts of a batch for line-fates.ts: any answer but 2xx, 400 or 422 leaves the fates unknown. */
function resender(
  ctx: WriteContext,
  path: string,
  headers: ReturnType<typeof passedRequestHeaders>,
  lines: readonly string[],
): Resend {
  return async (positions): Promise<StoredVerdict> => {
    const part = positions.map((p) => lines[p]!);
    const answer = await postToLocal(ctx.target, path, headers, Buffer.from(part.join("\n"), "utf8"));
    const body = answer.body.toString("utf8");
    const ok = answer.status >= 200 && answer.status <= 299;
    if (!ok && answer.status !== 400 && answer.status !== 422) {
      throw new Error(
        `the local instance answered ${answer.status} ${errorMessage(body) ?? body.slice(0, 200)}`,
      );
    }
    return judgeAnswer(answer.status, body, () => part);
  };
}

function safeRefusal(intake: WriteIntake): ReturnType<WriteIntake["refusal"]> {
  try {
    return intake.refusal();
  } catch {
    return undefined;
  }
}

/** The local instance's answer, as it came: status, headers (but hop-by-hop ones), body. */
function relayAnswer(res: ServerResponse, answer: LocalAnswer, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers = passedResponseHeaders(answer.rawHeaders);
  // 204 and 304 carry no body and must not declare one.
  if (answer.status !== 204 && answer.status !== 304)
    headers.push("Content-Length", String(answer.body.length));
  if (close) headers.push("Connection", "close");
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
