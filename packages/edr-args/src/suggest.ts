/**
 * Edit distance with adjacent transpositions (optimal string alignment, a restricted Damerau-Levenshtein):
 * `tabels` -> `tables` is one edit, not two.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (d[(i - 1) * cols + j] ?? 0) + 1,
        (d[i * cols + j - 1] ?? 0) + 1,
        (d[(i - 1) * cols + j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (d[(i - 2) * cols + j - 2] ?? 0) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1] ?? 0;
}

/** Case and `-` vs `_` are not worth an edit: `Max-Retries` is plainly `max_retries`. */
function fold(name: string): string {
  return name.toLowerCase().replaceAll("-", "_");
}

/**
 * The known name nearest to `name`, if it is near enough to be a typo: within a third of the name's
 * length (at least 1, at most 3 edits), ties going to the earlier candidate. A candidate that contains
 * the name whole, or is contained in it, is also a match (`retries` -> `max_retries`) when nothing is nearer.
 */
export function suggestName(name: string, candidates: Iterable<string>): string | undefined {
  const folded = fold(name);
  const limit = Math.min(3, Math.max(1, Math.floor(folded.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let containing: string | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(folded, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
    if (
      containing === undefined &&
      folded.length >= 4 &&
      (candidate.includes(folded) || folded.includes(candidate))
    ) {
      containing = candidate;
    }
  }
  return bestDistance <= limit ? best : containing;
}
