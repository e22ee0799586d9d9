// A remote (or a proxy before it) may repeat the credentials it was sent in an error answer: the header as is, or
// encoded. Every message edr-sink reports passes through here, so none carries the token in any of these forms.

/** Encoded forms shorter than this are not cut out: too likely to occur by chance in ordinary text. */
const MIN_ENCODED_CHARS = 12;

/**
 * The texts that give `token` away: the token itself, URL-encoded, and its base64 and base64url at each of the
 * three alignments it can have inside a longer encoded text (`Basic base64(user:token)`, or `Bearer <token>`
 * encoded whole), each cut to the characters that only the token's own bytes decide.
 */
export function tokenForms(token: string): string[] {
  if (token === "") return [];
  const forms = new Set([token, encodeURIComponent(token)]);
  const bytes = Buffer.from(token, "utf8");
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    const from = Math.ceil((8 * shift) / 6);
    const to = Math.floor((8 * shifted.length) / 6);
    for (const alphabet of ["base64", "base64url"] as const) {
      const form = shifted.toString(alphabet).slice(from, to);
      if (form.length >= MIN_ENCODED_CHARS) forms.add(form);
    }
  }
  // Longest first, so a form inside another is not cut first and leaves the rest of the longer one behind.
  return [...forms].sort((a, b) => b.length - a.length);
}

/** `text` with every form of `token` (see {@link tokenForms}) replaced by `replacement`; as is without a token. */
export function redactToken(text: string, token: string | undefined, replacement = "***"): string {
  if (token === undefined || token === "") return text;
  let out = text;
  for (const form of tokenForms(token)) if (out.includes(form)) out = out.split(form).join(replacement);
  return out;
}
