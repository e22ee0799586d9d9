import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSink } from "../src/index.js";
import type { Sink, SinkOptions } from "../src/index.js";
import { recordingLogger } from "./helpers.js";

describe("TLS against a self-signed server", () => {
  let dir: string;
  let server: https.Server;
  let url: string;
  const bodies: string[] = [];
  const sinks: Sink[] = [];
  const open = (options: Partial<SinkOptions>): Sink => {
    const sink = createSink({
      url,
      database: "db",
      token: "tls-test-token",
      maxRetries: 0,
      logger: recordingLogger(),
      ...options,
    });
    sinks.push(sink);
    return sink;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "edr-sink-tls-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1"],
        ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      ],
      { stdio: "pipe" },
    );
    server = https.createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (body += chunk));
        req.on("end", () => {
          bodies.push(body);
          res.writeHead(204).end();
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    await new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is refused by default: halted, nothing rejected, nothing sent", async () => {
    const before = bodies.length;
    const result = await open({}).write(["m v=1 1"]);
    expect(result).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 1 });
    expect(result.halted).toMatch(
      /^halted: TLS: self[- ]signed certificate.*\(DEPTH_ZERO_SELF_SIGNED_CERT\)$/,
    );
    expect(bodies.length).toBe(before);
  });

  it("is accepted with ca_file", async () => {
    const result = await open({ caFile: join(dir, "cert.pem") }).write(["m v=2 2"]);
    expect(result.delivered).toBe(1);
    expect(bodies.at(-1)).toBe("m v=2 2");
  });

  it("is accepted with verify_ssl=false, which warns once", async () => {
    const logger = recordingLogger();
    const sink = open({ verifySsl: false, logger });
    expect((await sink.write(["m v=3 3"])).delivered).toBe(1);
    expect((await sink.write(["m v=4 4"])).delivered).toBe(1);
    const warnings = logger.lines.filter((l) => l.startsWith("warn"));
    expect(warnings).toEqual([
      expect.stringContaining("TLS certificate verification is off for 127.0.0.1:") as string,
    ]);
  });
});
