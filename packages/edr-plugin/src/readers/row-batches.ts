import type { Row } from "edr-transform";

/**
 * Gathers rows into batches of exactly `size` (the last one may be smaller), handing each full batch over
 * as is: no batch is ever copied or split.
 */
export class RowBatches {
  private current: Row[] = [];
  private full: Row[][] = [];
  /** Rows added so far. */
  count = 0;

  constructor(private readonly size: number) {}

  add(row: Row): void {
    this.current.push(row);
    this.count++;
    if (this.current.length === this.size) {
      this.full.push(this.current);
      this.current = [];
    }
  }

  /** The full batches gathered since the last call, oldest first. */
  takeFull(): Row[][] {
    const full = this.full;
    this.full = [];
    return full;
  }

  /** What is left once the answer has ended: the last, smaller batch, if any. */
  takeRest(): Row[] | undefined {
    const rest = this.current;
    this.current = [];
    return rest.length > 0 ? rest : undefined;
  }
}
