import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  classify,
  NUMBER_TOKEN,
  tokenize,
  trainNaiveBayes,
} from "../../handlers/documents/naive-bayes";
import { renderResponse } from "../../handlers/documents/response-templates";
import { decideRoute } from "../../handlers/documents/routing-rules";
import { loadTrainingSet, MODEL_PATH, modelFileText } from "../../handlers/documents/training-set";
import model from "../../handlers/documents/model.json";

describe("multinomial naive Bayes", () => {
  it("reproduces example 13.1 of Introduction to Information Retrieval", () => {
    // Manning, Raghavan, Schütze (2008), §13.2: four training documents, test d5.
    const m = trainNaiveBayes([
      { category: "china", text: "Chinese Beijing Chinese" },
      { category: "china", text: "Chinese Chinese Shanghai" },
      { category: "china", text: "Chinese Macao" },
      { category: "other", text: "Tokyo Japan Chinese" },
    ]);
    expect(m.vocabulary).toHaveLength(6);
    // P(c|d5) ∝ 3/4 · (3/7)³ · 1/14 · 1/14 ≈ 0.0003;  P(c̄|d5) ∝ 1/4 · (2/9)³ · 2/9 · 2/9 ≈ 0.0001
    const china = (3 / 4) * (3 / 7) ** 3 * (1 / 14) * (1 / 14);
    const other = (1 / 4) * (2 / 9) ** 5;
    const result = classify(m, "Chinese Chinese Chinese Tokyo Japan");
    expect(result.category).toBe("china");
    expect(result.posteriors["china"]).toBeCloseTo(china / (china + other), 14);
    expect(result.posteriors["other"]).toBeCloseTo(other / (china + other), 14);
    expect(result.confidence).toBe(result.posteriors["china"]);
  });

  it("falls back to the priors for a text with no known word", () => {
    const m = trainNaiveBayes([
      { category: "a", text: "alpha" },
      { category: "a", text: "alpha" },
      { category: "b", text: "beta" },
    ]);
    expect(classify(m, "gamma").posteriors).toEqual({ a: 2 / 3, b: 1 / 3 });
  });

  it("tokenizes to lowercase words and one token per number", () => {
    expect(tokenize("Invoice 42: amount DUE, 1,250.00 a")).toEqual([
      "invoice",
      NUMBER_TOKEN,
      "amount",
      "due",
      NUMBER_TOKEN,
      NUMBER_TOKEN,
      NUMBER_TOKEN,
    ]);
  });
});

describe("the shipped model", () => {
  it("is exactly what training on the shipped sample writes (npm run train)", () => {
    expect(readFileSync(MODEL_PATH, "utf8")).toBe(
      modelFileText(trainNaiveBayes(loadTrainingSet())),
    );
  });

  it("has ~10–20 documents for each of the five categories", () => {
    expect(
      Object.fromEntries(Object.entries(model.classes).map(([c, counts]) => [c, counts.documents])),
    ).toEqual({ complaint: 14, contract: 14, inquiry: 14, invoice: 14, resume: 14 });
  });

  it("gives a sample invoice text the posterior a direct count of the sample gives", () => {
    // Independent of the classifier: products of smoothed frequencies counted straight from the files.
    const docs = loadTrainingSet();
    const vocabulary = new Set(docs.flatMap((d) => tokenize(d.text)));
    const text = tokenize("Invoice 42: amount due").filter((t) => vocabulary.has(t));
    const categories = [...new Set(docs.map((d) => d.category))];
    const joint = categories.map((c) => {
      const tokens = docs.filter((d) => d.category === c).flatMap((d) => tokenize(d.text));
      const prior = docs.filter((d) => d.category === c).length / docs.length;
      return text.reduce(
        (p, t) =>
          (p * (tokens.filter((x) => x === t).length + 1)) / (tokens.length + vocabulary.size),
        prior,
      );
    });
    const total = joint.reduce((a, b) => a + b, 0);
    const result = classify(trainNaiveBayes(docs), "Invoice 42: amount due");
    expect(result.category).toBe("invoice");
    categories.forEach((c, i) => expect(result.posteriors[c]).toBeCloseTo(joint[i]! / total, 14));
  });
});

describe("routing", () => {
  it.each([
    [
      "an invoice over its floor goes to accounts payable",
      "invoice",
      0.93,
      "accounts-payable",
      "category invoice with confidence 0.93 (floor 0.60)",
    ],
    [
      "a contract under its 0.7 floor goes to manual review",
      "contract",
      0.65,
      "manual-review",
      "confidence 0.65 is below the contract floor 0.70",
    ],
    [
      "a complaint at 0.5 reaches customer care",
      "complaint",
      0.5,
      "customer-care",
      "category complaint with confidence 0.50 (floor 0.50)",
    ],
    [
      "an unknown category goes to manual review",
      "poem",
      0.99,
      "manual-review",
      "no routing rule for category poem",
    ],
  ])("%s", (_, category, confidence, route, reason) => {
    expect(decideRoute(category, confidence)).toEqual({ route, reason });
  });

  it("answers each route with its template", () => {
    expect(renderResponse("accounts-payable", "doc-123", "invoice")).toEqual({
      template: "invoice-received",
      text: "Thank you. We have received your invoice (reference doc-123) and passed it to accounts payable for processing.",
    });
    expect(renderResponse("nowhere", "doc-9", "poem").template).toBe("document-received");
  });
});
