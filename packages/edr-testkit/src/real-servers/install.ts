import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

import { RealServerError } from "./errors.js";

/** What to install when a server's binary is missing, and how to tell the person watching. */
export interface InstallRequest {
  /** The binary the helper runs, e.g. `/usr/bin/influxd`. */
  binaryPath: string;
  /** The Debian package that ships it, e.g. `influxdb`. */
  aptPackage: string;
  /** The systemd unit the package starts on install; stopped again because tests run their own instance. */
  serviceName: string;
  /** Where progress lines go. */
  log: (line: string) => void;
}

// One install per package per process: several vitest projects may start the same server at once, and
// vitest may load this module once per project, hence globalThis.
const PENDING_KEY = Symbol.for("edr-testkit.real-servers.installs");
const pending = ((globalThis as { [PENDING_KEY]?: Map<string, Promise<void>> })[PENDING_KEY] ??= new Map());

/**
 * Makes sure `request.binaryPath` exists, installing `request.aptPackage` with apt-get when it does not.
 * Needs root for the install; says so (and what to run) when it is not root.
 */
export function ensureInstalled(request: InstallRequest): Promise<void> {
  if (existsSync(request.binaryPath)) return Promise.resolve();
  let done = pending.get(request.aptPackage);
  if (done === undefined) {
    done = Promise.resolve().then(() => install(request));
    pending.set(request.aptPackage, done);
    done.catch(() => pending.delete(request.aptPackage));
  }
  return done;
}

function install({ binaryPath, aptPackage, serviceName, log }: InstallRequest): void {
  if (existsSync(binaryPath)) return;
  const why = `${binaryPath} is missing: the integration tests run a real ${aptPackage} on 127.0.0.1`;
  if (process.getuid?.() !== 0) {
    throw new RealServerError(
      "NOT_ROOT",
      `[edr-testkit] [install] ${why}, and installing it needs root. ` +
        `Run \`sudo apt-get install -y ${aptPackage}\` once, then run the tests again.`,
    );
  }
  log(`[edr-testkit] installing the Debian package "${aptPackage}" with apt-get (${why})`);
  if (!aptGet(["install", "-y", "--no-install-recommends", aptPackage], log)) {
    // A fresh machine often has no package lists yet.
    log(`[edr-testkit] apt-get install failed; running apt-get update and trying once more`);
    if (!aptGet(["update"], log) || !aptGet(["install", "-y", "--no-install-recommends", aptPackage], log)) {
      throw new RealServerError(
        "INSTALL_FAILED",
        `[edr-testkit] [install] apt-get could not install "${aptPackage}" (needed because ${why}); see its output above`,
      );
    }
  }
  if (!existsSync(binaryPath)) {
    throw new RealServerError(
      "INSTALL_FAILED",
      `[edr-testkit] [install] installed "${aptPackage}" but ${binaryPath} is still missing`,
    );
  }
  // The package's own service would listen on every interface with the default ports: tests never use it.
  if (existsSync("/run/systemd/system")) {
    const stopped = spawnSync("systemctl", ["disable", "--now", serviceName], { stdio: "ignore" });
    if (stopped.status === 0) {
      log(`[edr-testkit] stopped and disabled the "${serviceName}" service the package started`);
    }
  }
  log(`[edr-testkit] installed "${aptPackage}"`);
}

function aptGet(args: string[], log: (line: string) => void): boolean {
  log(`[edr-testkit] $ apt-get ${args.join(" ")}`);
  const result = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], {
    // apt's progress goes to our stderr so a CI log shows what happened.
    stdio: ["ignore", process.stderr, process.stderr],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.error !== undefined) {
    log(`[edr-testkit] could not run apt-get: ${result.error.message}`);
    return false;
  }
  return result.status === 0;
}
