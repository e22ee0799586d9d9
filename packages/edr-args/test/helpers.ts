import { ArgsError } from "../src/errors.js";

/** The issue messages of the ArgsError `fn` throws; fails when it throws something else or nothing. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ArgsError) return error.issues.map((issue) => issue.message);
    throw error;
  }
  throw new Error("expected an ArgsError, but nothing was thrown");
}

/** The ArgsError `fn` throws. */
export function argsError(fn: () => unknown): ArgsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ArgsError) return error;
    throw error;
  }
  throw new Error("expected an ArgsError, but nothing was thrown");
}
