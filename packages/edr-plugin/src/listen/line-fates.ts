// Which lines of a batch the local instance stored, when its answer does not say (InfluxDB 1.x keeps the
// good lines of a bad batch and answers `partial write: …`): parts of the batch are sent again, halves of
// halves, in order, until every line is known stored or refused. Writing an identical point again is
// harmless in InfluxDB; sending in order keeps the last value of a point the one that stays.
import type { StoredVerdict } from "./write-outcome.js";

/** Sends the lines at `positions` (ascending, into the batch) again and says what the answer means. */
export type Resend = (positions: readonly number[]) => Promise<StoredVerdict>;

/** The fate of every line of a batch. */
export interface LineFates {
  /** Positions of the lines stored, ascending. */
  stored: number[];
  /** How many lines were refused. */
  refused: number;
  /** Lines whose fate could not be found because a re-send failed (`failure` says how). */
  undetermined: number;
  /** Requests sent again. */
  resent: number;
  failure?: string;
}

/**
 * Finds the fate of the lines `0…count-1`, given the answer `verdict` to sending them all. An "unknown"
 * answer splits the lines in halves, each sent again (left first) and judged the same way; one line
 * answered "unknown" was refused (InfluxDB 1.x said `partial write` and stored none of it). A re-send that
 * throws (the local instance went away) stops the search: its lines and those not yet sent are
 * undetermined. Costs about 2·k·log2(n/k) requests for k bad lines among n.
 */
export async function findLineFates(
  count: number,
  verdict: StoredVerdict,
  resend: Resend,
): Promise<LineFates> {
  const fates: LineFates = { stored: [], refused: 0, undetermined: 0, resent: 0 };
  const all = Array.from({ length: count }, (_, i) => i);
  await settle(all, verdict, resend, fates);
  return fates;
}

async function settle(
  positions: readonly number[],
  verdict: StoredVerdict,
  resend: Resend,
  fates: LineFates,
): Promise<void> {
  if (positions.length === 0) return;
  switch (verdict.kind) {
    case "all":
      for (const p of positions) fates.stored.push(p);
      return;
    case "none":
      fates.refused += positions.length;
      return;
    case "some":
      for (let k = 0; k < positions.length; k++) {
        if (verdict.rejected.has(k)) fates.refused++;
        else fates.stored.push(positions[k]!);
      }
      return;
    case "unknown": {
      if (positions.length === 1) {
        fates.refused++;
        return;
      }
      const middle = positions.length >>> 1;
      for (const half of [positions.slice(0, middle), positions.slice(middle)]) {
        if (fates.failure !== undefined) {
          fates.undetermined += half.length;
          continue;
        }
        let answer: StoredVerdict;
        try {
          fates.resent++;
          answer = await resend(half);
        } catch (error) {
          fates.failure = error instanceof Error ? error.message : String(error);
          fates.undetermined += half.length;
          continue;
        }
        await settle(half, answer, resend, fates);
      }
      return;
    }
  }
}
