/**
 * The keywords a search document is found by: the distinct lowercase words of its text
 * fields, sorted. Firestore answers `array-contains` / `array-contains-any` queries on such
 * an array without a separate search engine.
 */

/** Distinct lowercase words (letters and digits, at least two characters) of some texts, sorted. */
export function searchKeywords(
  ...texts: readonly (string | readonly string[] | undefined)[]
): string[] {
  const found = new Set<string>();
  for (const text of texts.flat()) {
    for (const word of (text ?? "").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
      if (word.length >= 2) found.add(word);
  }
  return [...found].sort();
}
