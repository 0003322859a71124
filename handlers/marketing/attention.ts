/**
 * Attention scores of a creative from its genome: a transparent rule-based score per element
 * and a weighted overall score. Each element starts at a neutral 0.5 and gains for the cues
 * that stop a scrolling viewer, loses for length, and is clamped to 0..1.
 *
 * The cues follow common creative guidance: open with a question or a number, speak to the
 * viewer ("you"), promise a concrete benefit, show social proof, end on an action verb, keep
 * every element short. The hook weighs most because it is what plays in the first three
 * seconds, where Meta's creative guidance says attention is won or lost; videos over 15 s
 * (the length that guidance recommends for feed video) lose attention in proportion to their
 * length. The weights and bonuses are this model's, documented here, not fitted to data.
 */
import type { marketing } from "../../proto/gen";
import { GENOME_ELEMENTS, words, type GenomeElement } from "./creative-genome";

/** Neutral score of an element before cues. */
export const BASE_SCORE = 0.5;

/** Weight of each element in the overall score (sums to 1). */
export const ELEMENT_WEIGHTS: Readonly<Record<GenomeElement, number>> = {
  hook: 0.4,
  promise: 0.25,
  frame: 0.15,
  cta: 0.2,
};

/** Words beyond this many cost {@link LENGTH_PENALTY} each. */
export const CONCISE_WORDS = 5;
export const LENGTH_PENALTY = 0.05;

/** Video length up to which attention is not discounted, in seconds. */
export const FULL_ATTENTION_SECONDS = 15;
/** Lowest duration factor, reached at twice {@link FULL_ATTENTION_SECONDS}. */
export const MIN_DURATION_FACTOR = 0.5;

interface Cue {
  /** The elements the cue counts for. */
  elements: readonly GenomeElement[];
  bonus: number;
  matches(elementWords: readonly string[], text: string): boolean;
}

const anyOf = (list: readonly string[]) => (elementWords: readonly string[]) =>
  elementWords.some((w) => list.includes(w));

/** Each cue counts once per element, however many of its words appear. */
const CUES: readonly Cue[] = [
  {
    elements: GENOME_ELEMENTS,
    bonus: 0.2,
    matches: (w, text) => text.includes("?") || anyOf(["question", "why", "how", "what"])(w),
  },
  {
    elements: GENOME_ELEMENTS,
    bonus: 0.15,
    matches: (w, text) => /\d/.test(text) || anyOf(["number", "statistic", "stat"])(w),
  },
  { elements: GENOME_ELEMENTS, bonus: 0.1, matches: anyOf(["you", "your"]) },
  {
    elements: ["promise"],
    bonus: 0.15,
    matches: anyOf(["save", "more", "less", "faster", "easy", "free"]),
  },
  {
    elements: ["frame"],
    bonus: 0.2,
    matches: anyOf(["testimonial", "review", "ugc", "proof", "demo"]),
  },
  {
    elements: ["cta"],
    bonus: 0.2,
    matches: anyOf(["try", "get", "start", "buy", "shop", "join", "now", "today"]),
  },
];

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** The attention score of one genome element's text. */
export function elementScore(element: GenomeElement, text: string): number {
  const elementWords = words(text);
  let score = BASE_SCORE;
  for (const cue of CUES)
    if (cue.elements.includes(element) && cue.matches(elementWords, text.toLowerCase()))
      score += cue.bonus;
  score -= LENGTH_PENALTY * Math.max(0, elementWords.length - CONCISE_WORDS);
  return clamp01(score);
}

/** The factor a video's length applies to the overall score: 1 up to 15 s, then 15/d, at least 0.5. */
export function durationFactor(seconds: number): number {
  return seconds <= FULL_ATTENTION_SECONDS
    ? 1
    : Math.max(MIN_DURATION_FACTOR, FULL_ATTENTION_SECONDS / seconds);
}

/** Attention scores per element and overall (weighted mean × duration factor). */
export function attentionScores(genome: marketing.v1.ICreativeGenome): {
  overall: number;
  byElement: Record<GenomeElement, number>;
} {
  const byElement = Object.fromEntries(
    GENOME_ELEMENTS.map((e) => [e, elementScore(e, genome[e] ?? "")]),
  ) as Record<GenomeElement, number>;
  const weighted = GENOME_ELEMENTS.reduce((sum, e) => sum + ELEMENT_WEIGHTS[e] * byElement[e], 0);
  return { overall: weighted * durationFactor(genome.durationSeconds ?? 0), byElement };
}
