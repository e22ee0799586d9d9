import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../src/influxdb3-server/cli.ts", import.meta.url));

it("runs the test server as its own process until SIGTERM, with a token", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "--port", "0", "--token", "t"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [first] = (await once(child.stdout, "data")) as [Buffer];
    const { url } = JSON.parse(first.toString("utf8")) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/health`)).status).toBe(401);
    const write = await fetch(`${url}/api/v3/write_lp?db=d`, {
      method: "POST",
      body: "m f=1 1",
      headers: { authorization: "Bearer t" },
    });
    expect(write.status).toBe(204);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  } finally {
    child.kill("SIGKILL");
  }
}, 20_000);
