/**
 * Multinomial naive Bayes with Laplace (add-one) smoothing, as in Manning, Raghavan,
 * Schütze, "Introduction to Information Retrieval" (2008), §13.2, figure 13.2
 * (TrainMultinomialNB / ApplyMultinomialNB):
 *
 *   P(c)   = N_c / N                                  documents of class c over all documents
 *   P(t|c) = (T_ct + α) / (Σ_t' T_ct' + α·|V|)        token counts, smoothed over the vocabulary V
 *   score  = log P(c) + Σ_{tokens t of d in V} log P(t|c)
 *
 * Tokens of the document outside the vocabulary are skipped, as in ApplyMultinomialNB. The
 * posterior P(c|d) normalises the scores with log-sum-exp, so long documents do not underflow.
 *
 * The model stores counts, not probabilities: it is plain integers, reads as data, and is
 * byte-for-byte reproducible by training (train.ts).
 */

/** Per-class counts of a trained model. */
export interface ClassCounts {
  /** Training documents of the class (N_c). */
  documents: number;
  /** Occurrences of each vocabulary token in the class's documents (T_ct); absent means 0. */
  tokens: Record<string, number>;
  /** Σ_t T_ct. */
  totalTokens: number;
}

export interface NaiveBayesModel {
  /** Laplace smoothing constant α. */
  alpha: number;
  /** Every token seen in training, sorted. */
  vocabulary: string[];
  /** Counts by class name, classes sorted by name. */
  classes: Record<string, ClassCounts>;
}

/** One labelled training document. */
export interface TrainingDocument {
  category: string;
  text: string;
}

/** A classification: the most probable class, its posterior, and every class's posterior. */
export interface Classification {
  category: string;
  confidence: number;
  posteriors: Record<string, number>;
}

/** The token that stands for any number: an amount's digits carry no class, that it is a number does. */
export const NUMBER_TOKEN = "<number>";

/** A text's tokens: lowercase words of two or more letters, and {@link NUMBER_TOKEN} for each number. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (/^\p{N}+$/u.test(word)) tokens.push(NUMBER_TOKEN);
    else if (word.length >= 2) tokens.push(word);
  }
  return tokens;
}

/** Sorts an object's keys so that the model's JSON does not depend on training order. */
function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/**
 * Trains a model (TrainMultinomialNB).
 * @param alpha Laplace smoothing constant; default 1 (add-one).
 */
export function trainNaiveBayes(
  documents: readonly TrainingDocument[],
  tokenizer: (text: string) => string[] = tokenize,
  alpha = 1,
): NaiveBayesModel {
  const classes: Record<string, ClassCounts> = {};
  const vocabulary = new Set<string>();
  for (const { category, text } of documents) {
    const counts = (classes[category] ??= { documents: 0, tokens: {}, totalTokens: 0 });
    counts.documents += 1;
    for (const token of tokenizer(text)) {
      vocabulary.add(token);
      counts.tokens[token] = (counts.tokens[token] ?? 0) + 1;
      counts.totalTokens += 1;
    }
  }
  for (const counts of Object.values(classes)) counts.tokens = sortedRecord(counts.tokens);
  return { alpha, vocabulary: [...vocabulary].sort(), classes: sortedRecord(classes) };
}

/**
 * Classifies a text (ApplyMultinomialNB), with posteriors.
 * @throws Error when the model has no classes.
 */
export function classify(
  model: NaiveBayesModel,
  text: string,
  tokenizer: (text: string) => string[] = tokenize,
): Classification {
  const names = Object.keys(model.classes);
  if (names.length === 0) throw new Error("the naive Bayes model has no classes");
  const totalDocuments = names.reduce((sum, c) => sum + model.classes[c]!.documents, 0);
  const vocabulary = new Set(model.vocabulary);
  const tokens = tokenizer(text).filter((t) => vocabulary.has(t));
  const scores = names.map((name) => {
    const counts = model.classes[name]!;
    const denominator = counts.totalTokens + model.alpha * model.vocabulary.length;
    let score = Math.log(counts.documents / totalDocuments);
    for (const token of tokens)
      score += Math.log(((counts.tokens[token] ?? 0) + model.alpha) / denominator);
    return score;
  });
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const posteriors = Object.fromEntries(names.map((name, i) => [name, weights[i]! / total]));
  // Ties go to the first class by name, so the answer never depends on iteration order.
  let best = 0;
  for (let i = 1; i < names.length; i++) if (scores[i]! > scores[best]!) best = i;
  return { category: names[best]!, confidence: posteriors[names[best]!]!, posteriors };
}
