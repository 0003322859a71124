/**
 * The classifier's labelled sample: training/<category>.json, each a JSON array of short
 * documents of that category. The model the classifier ships (model.json) is trained from
 * it by `npm run train`, and a test checks that the two still agree.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { NaiveBayesModel, TrainingDocument } from "./naive-bayes";

/** Where the labelled sample lives. */
export const TRAINING_DIR = join(__dirname, "training");

/** Where the trained model is written, next to the classifier. */
export const MODEL_PATH = join(__dirname, "model.json");

/**
 * Every labelled document, category by category in file-name order.
 * @throws Error naming the file when one is not a JSON array of strings.
 */
export function loadTrainingSet(dir = TRAINING_DIR): TrainingDocument[] {
  const documents: TrainingDocument[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const texts: unknown = JSON.parse(readFileSync(join(dir, file), "utf8"));
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === "string"))
      throw new Error(`${file} must be a JSON array of strings`);
    const category = basename(file, ".json");
    for (const text of texts) documents.push({ category, text });
  }
  return documents;
}

/** The model file's exact text: two-space JSON and a final newline. */
export function modelFileText(model: NaiveBayesModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
