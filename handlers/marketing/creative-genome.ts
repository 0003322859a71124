/**
 * The parts of a creative's genome (docs/requirements.md, MO-5) the analyzer reads: its four
 * text elements, the words in them, and the discrete tokens the embedding hashes.
 */
import type { marketing } from "../../proto/gen";

/** The genome's text elements, in the order a viewer meets them. */
export const GENOME_ELEMENTS = ["hook", "promise", "frame", "cta"] as const;

export type GenomeElement = (typeof GENOME_ELEMENTS)[number];

/** Lowercase words (letters and digits) of a text; "try-free!" → ["try", "free"]. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Video length bands, upper bounds in seconds: the 6 s bumper, 15 s and 30 s spots and the
 * 60 s cut are the lengths platforms sell; a creative is tokenised by the band it falls in.
 */
const DURATION_BANDS = [6, 15, 30, 60] as const;

/** The length band of a duration in seconds, e.g. "6-15"; "none" for a still creative (0 s). */
export function durationBand(seconds: number): string {
  if (!(seconds > 0)) return "none";
  let lower = 0;
  for (const upper of DURATION_BANDS) {
    if (seconds <= upper) return `${lower}-${upper}`;
    lower = upper;
  }
  return `${lower}+`;
}

/**
 * The genome's tokens: `element=word` for each word of each text element and of the format,
 * and `duration=<band>`. Prefixing the element keeps "free" in a CTA apart from "free" in a
 * promise.
 */
export function genomeTokens(genome: marketing.v1.ICreativeGenome): string[] {
  const tokens: string[] = [];
  for (const element of [...GENOME_ELEMENTS, "format"] as const) {
    for (const word of words(genome[element] ?? "")) tokens.push(`${element}=${word}`);
  }
  tokens.push(`duration=${durationBand(genome.durationSeconds ?? 0)}`);
  return tokens;
}
