import { describe, expect, it } from "vitest";
import { formatDuration, rateAndEta } from "../../tools/cli/progress";

describe("the progress bar's rate and time left", () => {
  it("count from the first update, so a resumed replay's earlier events do not inflate the rate", () => {
    // Resumed at 40 000 of 100 000; 6 000 more in 10 s.
    expect(rateAndEta(46_000, 100_000, { done: 40_000, at: 0 }, 10_000)).toEqual({
      rate: "600",
      eta: "1:30",
    });
  });

  it("say ? until there is a rate to go by", () => {
    expect(rateAndEta(0, 100, { done: 0, at: 0 }, 0)).toEqual({ rate: "0", eta: "?" });
  });

  it("write the time left as h:mm:ss or m:ss", () => {
    expect([formatDuration(9), formatDuration(247), formatDuration(3909.4)]).toEqual([
      "0:09",
      "4:07",
      "1:05:09",
    ]);
  });
});
