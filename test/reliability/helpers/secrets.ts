// Where a token could show up: the files under a directory (gzip files inflated), and the forms a token takes
// on the wire and in logs (as is, after `Token `/`Bearer `, in base64 at any alignment, URL-encoded).
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { constants, gunzipSync } from "node:zlib";

/**
 * The texts that betray `token`: the token itself, `Token <token>` and `Bearer <token>`, its URL encoding, and
 * its base64 (and base64url) at each of the three alignments it can have inside a longer base64 text (as in
 * `Basic base64(user:token)`), each cut to the characters only the token decides.
 */
export function secretForms(token: string): string[] {
  const forms = new Set([token, `Token ${token}`, `Bearer ${token}`, encodeURIComponent(token)]);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.from("\0".repeat(shift) + token, "utf8");
    for (const alphabet of ["base64", "base64url"] as const) {
      const text = encoded.toString(alphabet).replace(/=+$/, "");
      // The first group holds the shift's bytes, the last one bytes that follow the token.
      forms.add(text.slice(shift === 0 ? 0 : 4, Math.floor(text.length / 4) * 4 - 4));
    }
  }
  return [...forms].filter((form) => form.length >= 12);
}

/** Each form of each token found in `text`, as `"<where>: <form>"`. */
export function findSecrets(where: string, text: string, tokens: readonly string[]): string[] {
  const found: string[] = [];
  for (const token of tokens)
    for (const form of secretForms(token)) if (text.includes(form)) found.push(`${where}: ${form}`);
  return found;
}

/** One file or directory under a root, with its mode (permission bits). */
export interface TreeEntry {
  readonly path: string;
  readonly kind: "file" | "dir";
  readonly mode: number;
}

/** Every file and directory under `root` (the root included), depth first. */
export async function walk(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [{ path: root, kind: "dir", mode: (await stat(root)).mode & 0o777 }];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push({ path, kind: "file", mode: (await stat(path)).mode & 0o777 });
  }
  return out;
}

/** A file's bytes as text, inflated when it is gzip (every member), plus its raw bytes. */
export async function fileTexts(path: string): Promise<string[]> {
  const raw = await readFile(path);
  const texts = [raw.toString("latin1"), raw.toString("utf8")];
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      // Every member; a torn last one gives what it holds (sync flush) instead of an error.
      texts.push(gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }).toString("utf8"));
    } catch {
      // Not gzip after all (the quarantine keeps bytes as they were): the raw bytes were searched.
    }
  }
  return texts;
}
