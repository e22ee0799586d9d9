// Everything that is not a write to the replicated database goes to the local instance untouched: method,
// path, query, headers and body, streamed both ways, the answer's status and headers as they come.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorReply, sendReply, usesV2Errors } from "./error-replies.js";
import {
  LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS,
  NOT_CONNECTED,
  localRequestOptions,
  passedRequestHeaders,
  passedResponseHeaders,
  type LocalTarget,
} from "./local-client.js";

/** What a pass-through needs besides the request. */
export interface PassThroughContext {
  target: LocalTarget;
  /** Whether the server is closing (answers then ask the client to close the connection). */
  closing(): boolean;
  /** Called when the local instance could not be reached, with the message sent to the client. */
  onUnreachable(message: string): void;
}

/** Streams `req` to the local instance and its answer back; resolves once the exchange is over. */
export function passThrough(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: PassThroughContext,
): Promise<void> {
  const { target } = ctx;
  const path = req.url ?? "/";
  return new Promise((resolve) => {
    const upstream = target.request(
      localRequestOptions(target, req.method ?? "GET", path, passedRequestHeaders(req.headers)),
    );
    // An idle limit, not a total one: a long query answer keeps streaming.
    upstream.setTimeout(target.timeoutMs, () =>
      upstream.destroy(new Error(`no data from the local instance for ${target.timeoutMs} ms`)),
    );
    upstream.on("response", (answer) => {
      const headers = passedResponseHeaders(answer.rawHeaders, true);
      if (ctx.closing()) headers.push("Connection", "close");
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
      answer.pipe(res);
      // A local answer cut short must reach the client as a cut (not as a complete shorter body).
      answer.on("error", () => res.destroy());
      answer.on("close", () => {
        if (!answer.complete) res.destroy();
      });
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const v2 = usesV2Errors(path);
      if (error.code !== undefined && NOT_CONNECTED.has(error.code)) {
        const message = `edr listen: cannot reach the local instance at ${target.shown}: ${error.message}`;
        ctx.onUnreachable(message);
        sendReply(res, errorReply(v2, 503, message, LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS), ctx.closing());
      } else {
        const message = `edr listen: the local instance at ${target.shown} failed: ${error.message}`;
        sendReply(res, errorReply(v2, 502, message), ctx.closing());
      }
    });
    req.on("error", () => upstream.destroy());
    res.on("close", () => {
      // The client went away before the answer was complete: stop the local request too.
      if (!res.writableFinished) upstream.destroy();
      resolve();
    });
    req.pipe(upstream);
  });
}
