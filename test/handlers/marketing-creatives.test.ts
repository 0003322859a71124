import { describe, expect, it } from "vitest";
import { attentionScores, durationFactor, elementScore } from "../../handlers/marketing/attention";
import { durationBand, genomeTokens } from "../../handlers/marketing/creative-genome";
import { fitExponentialDecay } from "../../handlers/marketing/decay-fit";
import { assessFatigue } from "../../handlers/marketing/fatigue";
import { fnv1a32, hashedEmbedding, hashedFeature } from "../../handlers/marketing/feature-hashing";

describe("feature hashing", () => {
  it.each([
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
  ])("FNV-1a 32 of %j is the published test vector", (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });

  it("takes the coordinate from the low bits and the sign from the top bit", () => {
    // 0xe40c292c: top bit set → −1; low 31 bits 0x640c292c, mod 64 = 0x2c = 44.
    expect(hashedFeature("a")).toEqual({ index: 44, sign: -1 });
    // 0xbf9cf968: top bit set → −1; 0x68 mod 64 = 40.
    expect(hashedFeature("foobar")).toEqual({ index: 40, sign: -1 });
  });

  it("adds repeated tokens and normalises to unit length", () => {
    const v = hashedEmbedding(["a", "a", "foobar"]);
    const expected = new Array<number>(64).fill(0);
    expected[44] = -2 / Math.sqrt(5);
    expected[40] = -1 / Math.sqrt(5);
    expect(v).toEqual(expected);
  });

  it("is all zeros for no tokens", () => {
    expect(hashedEmbedding([])).toEqual(new Array<number>(64).fill(0));
  });
});

describe("the genome's tokens", () => {
  it("are element-prefixed words, the format, and the duration band", () => {
    expect(
      genomeTokens({
        hook: "Why wait?",
        promise: "",
        frame: "",
        cta: "Try-free",
        format: "video",
        durationSeconds: 15,
      }),
    ).toEqual(["hook=why", "hook=wait", "cta=try", "cta=free", "format=video", "duration=6-15"]);
  });

  it.each([
    [0, "none"],
    [6, "0-6"],
    [6.5, "6-15"],
    [30, "15-30"],
    [45, "30-60"],
    [90, "60+"],
  ])("a %s s creative is in band %s", (seconds, band) => {
    expect(durationBand(seconds)).toBe(band);
  });
});

describe("attention scores", () => {
  it.each([
    ["a question hook gains the question cue", "hook", "question", 0.7],
    [
      "a long hook with a question, a number and 'you' loses 0.05 per word past five",
      "hook",
      "How 3 tips save you hours every single week",
      0.5 + 0.2 + 0.15 + 0.1 - 4 * 0.05,
    ],
    ["a benefit promise", "promise", "save time", 0.65],
    ["social proof in the frame", "frame", "testimonial", 0.7],
    ["an action CTA", "cta", "Shop now", 0.7],
    ["an empty element is neutral", "promise", "", 0.5],
  ] as const)("%s", (_, element, text, expected) => {
    expect(elementScore(element, text)).toBeCloseTo(expected, 12);
  });

  it("weigh the elements 0.4 / 0.25 / 0.15 / 0.2 for a sample creative", () => {
    const scores = attentionScores({
      hook: "question",
      promise: "save time",
      frame: "testimonial",
      cta: "try free",
      format: "video",
      durationSeconds: 15,
    });
    expect(scores.byElement).toEqual({ hook: 0.7, promise: 0.65, frame: 0.7, cta: 0.7 });
    expect(scores.overall).toBeCloseTo(0.4 * 0.7 + 0.25 * 0.65 + 0.15 * 0.7 + 0.2 * 0.7, 12);
  });

  it.each([
    [15, 1],
    [20, 0.75],
    [30, 0.5],
    [120, 0.5],
  ])("discount a %s s video by %s", (seconds, factor) => {
    expect(durationFactor(seconds)).toBe(factor);
  });
});

describe("exponential decay fit", () => {
  it("recovers a and b exactly from points on the curve", () => {
    const series = [0, 1, 2, 3, 4].map((day) => ({ day, ctr: 0.04 * Math.exp(-0.1 * day) }));
    const fit = fitExponentialDecay(series)!;
    expect(fit.initialCtr).toBeCloseTo(0.04, 15);
    expect(fit.decayRate).toBeCloseTo(0.1, 14);
    expect(fit.rSquared).toBeCloseTo(1, 14);
  });

  it("fits 5%, 4%, 3% on days 0–2 as the closed form says", () => {
    // Three equally spaced points: the slope is (y2 − y0)/2 and the line passes through (1, ȳ),
    // so b = −ln(0.03/0.05)/2 and a = e^ȳ · e^(−slope) = cbrt(0.05·0.04·0.03) / sqrt(0.6).
    // Residuals are d, −2d, d with d = (y0 + y2 − 2·y1)/6, so SSres = 6d².
    const [y0, y1, y2] = [Math.log(0.05), Math.log(0.04), Math.log(0.03)];
    const mean = (y0 + y1 + y2) / 3;
    const d = (y0 + y2 - 2 * y1) / 6;
    const ssTot = (y0 - mean) ** 2 + (y1 - mean) ** 2 + (y2 - mean) ** 2;
    const fit = fitExponentialDecay([
      { day: 0, ctr: 0.05 },
      { day: 1, ctr: 0.04 },
      { day: 2, ctr: 0.03 },
    ])!;
    expect(fit.decayRate).toBeCloseTo(-Math.log(0.6) / 2, 14);
    expect(fit.initialCtr).toBeCloseTo(Math.cbrt(0.05 * 0.04 * 0.03) / Math.sqrt(0.6), 14);
    expect(fit.rSquared).toBeCloseTo(1 - (6 * d * d) / ssTot, 14);
  });

  it("leaves out days with no clicks and needs two distinct days", () => {
    expect(
      fitExponentialDecay([
        { day: 0, ctr: 0.02 },
        { day: 1, ctr: 0 },
      ]),
    ).toBeUndefined();
    expect(
      fitExponentialDecay([
        { day: 2, ctr: 0.02 },
        { day: 2, ctr: 0.03 },
      ]),
    ).toBeUndefined();
  });
});

describe("fatigue", () => {
  it("flags a creative losing 10% a day, with its score, curve and days left", () => {
    const series = [0, 1, 2, 3, 4, 5, 6].map((day) => ({ day, ctr: 0.04 * Math.exp(-0.1 * day) }));
    const verdict = assessFatigue(series)!;
    expect(verdict.fatigued).toBe(true);
    expect(verdict.score).toBeCloseTo(1 - Math.exp(-0.6), 12);
    // Half of day 0's CTR is reached at ln 2 / 0.1 = 6.93 days, 0.93 after day 6.
    expect(verdict.daysRemaining).toBeCloseTo(Math.log(2) / 0.1 - 6, 10);
    expect(verdict.curveStartDay).toBe(0);
    expect(verdict.curve).toHaveLength(7);
    verdict.curve.forEach((ctr, day) => expect(ctr).toBeCloseTo(0.04 * Math.exp(-0.1 * day), 14));
  });

  it("does not flag a creative losing 2% a day, and says it has 34.66 − 4 days left", () => {
    const verdict = assessFatigue(
      [0, 2, 4].map((day) => ({ day, ctr: 0.03 * Math.exp(-0.02 * day) })),
    )!;
    expect(verdict.fatigued).toBe(false);
    expect(verdict.daysRemaining).toBeCloseTo(Math.log(2) / 0.02 - 4, 9);
  });

  it("waits for three days of data", () => {
    expect(
      assessFatigue([
        { day: 0, ctr: 0.05 },
        { day: 1, ctr: 0.01 },
      ]),
    ).toBeUndefined();
  });

  it("scores a rising CTR 0 with no end in sight", () => {
    const verdict = assessFatigue([0, 1, 2].map((day) => ({ day, ctr: 0.01 * (day + 1) })))!;
    expect(verdict).toMatchObject({
      fatigued: false,
      score: 0,
      daysRemaining: Number.POSITIVE_INFINITY,
    });
  });
});
