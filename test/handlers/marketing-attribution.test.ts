import { describe, expect, it } from "vitest";
import {
  counterfactualLift,
  lastClickCredit,
  linearCredit,
  shapleyCredit,
} from "../../handlers/marketing/attribution-models";
import {
  channelSetKey,
  coalitionValue,
  nonEmptySubsets,
  type ChannelSetStats,
} from "../../handlers/marketing/channel-sets";
import {
  addTouchpoint,
  channelsOf,
  convertAt,
  EMPTY_JOURNEY,
  type Journey,
  type JourneyTouchpoint,
} from "../../handlers/marketing/journey";
import { shapleyValues } from "../../handlers/marketing/shapley";

const tp = (channel: string, at: number): JourneyTouchpoint => ({
  channel,
  campaign: "cmp-1",
  creative: "cr-1",
  at,
});

/** Two channels: search alone 1/10, social alone 2/10, both 3/5 (journeys counted under their exact set). */
const twoChannels: ChannelSetStats[] = [
  { channels: ["search"], journeys: 10, conversions: 1 },
  { channels: ["social"], journeys: 10, conversions: 2 },
  { channels: ["search", "social"], journeys: 5, conversions: 3 },
];

describe("the coalition value", () => {
  it.each([
    [["search"], 1 / 10],
    [["social"], 2 / 10],
    // Journeys within {search, social}: all three sets, 6 conversions of 25.
    [["search", "social"], 6 / 25],
    [[], 0],
  ])("v(%j) is the conversion rate of journeys within the set", (coalition, expected) => {
    expect(coalitionValue(twoChannels, coalition)).toBe(expected);
  });

  it("keys channel sets by their sorted, encoded channels", () => {
    expect(channelSetKey(["social", "search", "social"])).toBe("search+social");
    expect(channelSetKey(["a/b", "c+d"])).toBe("a%2Fb+c%2Bd");
    expect(nonEmptySubsets(["b", "a"])).toEqual([["a"], ["b"], ["a", "b"]]);
  });
});

describe("Shapley credit", () => {
  it("matches the hand computation for two channels", () => {
    // φ_search = ½·(v(search) − v(∅)) + ½·(v(both) − v(social)) = ½·0.1 + ½·(0.24 − 0.2) = 0.07
    // φ_social = ½·(v(social) − v(∅)) + ½·(v(both) − v(search)) = ½·0.2 + ½·(0.24 − 0.1) = 0.17
    const path = [tp("search", 1), tp("social", 2)];
    const { values, credit, pathValue } = shapleyCredit(path, twoChannels);
    expect(values["search"]).toBeCloseTo(0.07, 15);
    expect(values["social"]).toBeCloseTo(0.17, 15);
    expect(pathValue).toBe(0.24);
    expect(credit["search"]).toBeCloseTo(0.07 / 0.24, 15);
    expect(credit["social"]).toBeCloseTo(0.17 / 0.24, 15);
  });

  it("matches the average over all orderings for three channels", () => {
    const stats: ChannelSetStats[] = [
      { channels: ["a"], journeys: 10, conversions: 1 },
      { channels: ["b"], journeys: 20, conversions: 2 },
      { channels: ["c"], journeys: 10, conversions: 0 },
      { channels: ["a", "b"], journeys: 5, conversions: 2 },
      { channels: ["a", "b", "c"], journeys: 5, conversions: 3 },
    ];
    const v = (s: readonly string[]): number => coalitionValue(stats, s);
    // The permutation definition, independent of the subset-weight formula.
    const orders = [
      ["a", "b", "c"],
      ["a", "c", "b"],
      ["b", "a", "c"],
      ["b", "c", "a"],
      ["c", "a", "b"],
      ["c", "b", "a"],
    ];
    const byOrders: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (const order of orders)
      order.forEach(
        (player, i) =>
          (byOrders[player]! += (v(order.slice(0, i + 1)) - v(order.slice(0, i))) / orders.length),
      );
    const phi = shapleyValues(["a", "b", "c"], v);
    for (const player of ["a", "b", "c"])
      expect(phi.get(player)).toBeCloseTo(byOrders[player]!, 15);
    // And by hand for a: ⅓·v(a) + ⅙·(v(ab) − v(b)) + ⅙·(v(ac) − v(c)) + ⅓·(v(abc) − v(bc)),
    // with v(a) = 0.1, v(b) = 0.1, v(c) = 0, v(ab) = 5/35, v(ac) = 1/20, v(bc) = 2/30, v(abc) = 8/50.
    expect(phi.get("a")).toBeCloseTo(
      (1 / 3) * 0.1 +
        (1 / 6) * (5 / 35 - 0.1) +
        (1 / 6) * (1 / 20 - 0) +
        (1 / 3) * (8 / 50 - 2 / 30),
      15,
    );
    expect([...phi.values()].reduce((s, x) => s + x, 0)).toBeCloseTo(8 / 50, 15);
  });

  it("refuses more players than an exact computation takes", () => {
    expect(() =>
      shapleyValues(
        Array.from({ length: 17 }, (_, i) => `c${i}`),
        () => 0,
      ),
    ).toThrow(RangeError);
  });
});

describe("rule-based credit and lift", () => {
  const path = [tp("search", 1), tp("social", 2), tp("search", 3)];

  it("gives last click everything to the last touchpoint's channel", () => {
    expect(lastClickCredit(path)).toEqual({ search: 1 });
  });

  it("gives linear 1/3 per touchpoint, summed per channel", () => {
    expect(linearCredit(path)).toEqual({ search: 2 / 3, social: 1 / 3 });
  });

  it("measures lift as v(path) less the mean of v without each channel", () => {
    // 0.24 − (v(social) + v(search))/2 = 0.24 − 0.15
    expect(counterfactualLift(path, twoChannels)).toBeCloseTo(0.09, 15);
    expect(counterfactualLift([tp("search", 1)], twoChannels)).toBe(0.1);
  });
});

describe("journeys", () => {
  it("order touchpoints by time, keep each once and ignore those before the last conversion", () => {
    let journey: Journey = { ...EMPTY_JOURNEY, closedAt: 100 };
    const steps: [JourneyTouchpoint, boolean][] = [
      [tp("social", 300), true],
      [tp("search", 200), true],
      [tp("social", 300), false],
      [tp("email", 50), false],
      [tp("email", 300), true],
    ];
    for (const [touchpoint, added] of steps) {
      const result = addTouchpoint(journey, touchpoint);
      expect(result.added).toBe(added);
      journey = result.journey;
    }
    expect(journey.touchpoints.map((t) => `${t.channel}@${t.at}`)).toEqual([
      "search@200",
      "social@300",
      "email@300",
    ]);
    expect(channelsOf(journey.touchpoints)).toEqual(["email", "search", "social"]);
  });

  it("split at a conversion: earlier touchpoints are its path, later ones open the next journey", () => {
    const journey: Journey = {
      touchpoints: [tp("search", 200), tp("social", 300), tp("email", 400)],
      closedAt: 0,
    };
    const { path, next } = convertAt(journey, 300);
    expect(path.map((t) => t.channel)).toEqual(["search", "social"]);
    expect(next).toEqual({ touchpoints: [tp("email", 400)], closedAt: 300 });
  });
});
