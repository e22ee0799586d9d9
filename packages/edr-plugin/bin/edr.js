#!/usr/bin/env node
// The `edr` command of a published install: the compiled CLI. In the workspace, run `pnpm edr` (tsx, from source).
import "../dist/cli/main.js";
