// edr-testkit/edr-command: running the `edr` command in a child process as a user's shell would, and reading
// the commands out of a README, for the tests of edr-plugin, the examples and the reliability suite. Kept out
// of the main entry, which is the test server's.
export { edrCommand, runEdr, startEdr, type EdrChild } from "./edr-child.js";
export { findCommand, flagValue, logicalLines, shellWords, unitSettings } from "./readme-commands.js";
