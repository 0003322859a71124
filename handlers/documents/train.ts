/**
 * `npm run train`: trains the document classifier on training/*.json and writes model.json
 * beside the classifier. Training is deterministic (counts, sorted keys), so running it on an
 * unchanged sample rewrites the same bytes.
 */
import { writeFileSync } from "node:fs";
import { trainNaiveBayes } from "./naive-bayes";
import { MODEL_PATH, loadTrainingSet, modelFileText } from "./training-set";

const documents = loadTrainingSet();
const model = trainNaiveBayes(documents);
writeFileSync(MODEL_PATH, modelFileText(model));
console.log(
  `train: ${documents.length} documents, ${Object.keys(model.classes).length} categories, ${model.vocabulary.length} tokens → ${MODEL_PATH}`,
);
