import { describe, expect, it } from "vitest";
import { marketing } from "../../proto/gen";
import { kpis } from "../../handlers/marketing/kpis";
import {
  optimizationNeed,
  type CampaignStanding,
} from "../../handlers/marketing/optimization-rules";
import {
  checkPacing,
  elapsedFraction,
  flightBounds,
  type PacingCheck,
} from "../../handlers/marketing/pacing";
import {
  dayTotals,
  ledgerTotals,
  recordWindow,
  windowKey,
  type Ledger,
} from "../../handlers/marketing/performance-ledger";

const P = marketing.v1.Priority;

describe("the performance ledger", () => {
  it("truncates window starts to their hour or day, in UTC", () => {
    expect(windowKey("hourly", "2026-11-22T13:45:00+01:00")).toMatchObject({
      day: "2026-11-22",
      hour: "12",
    });
    expect(windowKey("daily", "2026-11-22T23:30:00Z")).toMatchObject({
      day: "2026-11-22",
      start: new Date("2026-11-22T00:00:00Z"),
      end: new Date("2026-11-23T00:00:00Z"),
    });
    expect(() => windowKey("daily", "yesterday")).toThrow(RangeError);
  });

  it("replaces a restated window instead of adding to it, and prefers a day's daily report to its hours", () => {
    let ledger: Ledger = {};
    ledger = recordWindow(ledger, windowKey("hourly", "2026-11-22T10:00:00Z"), {
      impressions: 100,
      clicks: 2,
      conversions: 0,
      spend: 5,
    });
    ledger = recordWindow(ledger, windowKey("hourly", "2026-11-22T10:00:00Z"), {
      impressions: 120,
      clicks: 3,
      conversions: 1,
      spend: 6,
    });
    ledger = recordWindow(ledger, windowKey("hourly", "2026-11-22T11:00:00Z"), {
      impressions: 80,
      clicks: 1,
      conversions: 0,
      spend: 4,
    });
    expect(dayTotals(ledger["2026-11-22"]!)).toEqual({
      impressions: 200,
      clicks: 4,
      conversions: 1,
      spend: 10,
    });
    ledger = recordWindow(ledger, windowKey("daily", "2026-11-22"), {
      impressions: 1000,
      clicks: 20,
      conversions: 2,
      spend: 50,
    });
    ledger = recordWindow(ledger, windowKey("daily", "2026-11-23"), {
      impressions: 500,
      clicks: 5,
      conversions: 1,
      spend: 25,
    });
    expect(ledgerTotals(ledger)).toEqual({
      impressions: 1500,
      clicks: 25,
      conversions: 3,
      spend: 75,
    });
  });
});

describe("campaign KPIs", () => {
  it.each([
    [
      "a sample report",
      { impressions: 120_000, clicks: 2400, conversions: 96, spend: 1320.5 },
      { ctr: 0.02, cpa: 1320.5 / 96, cpm: 11.004166666666666 },
    ],
    [
      "no conversions leaves CPA undefined",
      { impressions: 1000, clicks: 10, conversions: 0, spend: 4 },
      { ctr: 0.01, cpa: null, cpm: 4 },
    ],
    [
      "no impressions gives zero CTR and CPM",
      { impressions: 0, clicks: 0, conversions: 0, spend: 0 },
      { ctr: 0, cpa: null, cpm: 0 },
    ],
  ])("%s", (_, totals, expected) => {
    expect(kpis(totals)).toEqual(expected);
  });
});

describe("pacing", () => {
  it("measures the elapsed share of a 30-day flight, end date inclusive", () => {
    const flight = flightBounds("2026-11-01", "2026-11-30")!;
    expect(flight.end - flight.start).toBe(30 * 86_400_000);
    expect(elapsedFraction(flight.start, flight.end, Date.parse("2026-11-16T00:00:00Z"))).toBe(0.5);
    expect(elapsedFraction(flight.start, flight.end, Date.parse("2026-12-05T00:00:00Z"))).toBe(1);
    expect(flightBounds("", "2026-11-30")).toBeUndefined();
  });

  it.each<[string, number, number, number, "standard" | "accelerated", Partial<PacingCheck>]>([
    [
      "half the budget by mid-period is on track",
      100,
      50,
      0.5,
      "standard",
      { expected: 50, ratio: 1, status: "on-track" },
    ],
    [
      "40% over the expected spend is overspending",
      100,
      70,
      0.5,
      "standard",
      { ratio: 1.4, status: "overspending" },
    ],
    [
      "40% under is underspending",
      100,
      30,
      0.5,
      "standard",
      { ratio: 0.6, status: "underspending" },
    ],
    [
      "15% over is within the 20% tolerance",
      100,
      57.5,
      0.5,
      "standard",
      { ratio: 1.15, status: "on-track" },
    ],
    [
      "over the whole budget is over budget, however early",
      100,
      120,
      0.05,
      "standard",
      { status: "over-budget" },
    ],
    [
      "too early in the period to judge",
      100,
      5,
      0.05,
      "standard",
      { ratio: null, status: "not-judged" },
    ],
    ["accelerated pacing only checks the cap", 100, 90, 0.5, "accelerated", { status: "on-track" }],
    ["no budget, nothing to judge", 0, 50, 0.5, "standard", { status: "not-judged" }],
  ])("%s", (_, budget, actual, elapsed, mode, expected) => {
    expect(checkPacing(budget, actual, elapsed, mode)).toMatchObject(expected);
  });
});

describe("optimization rules", () => {
  const onTrack = (budget: number): PacingCheck => checkPacing(budget, budget / 2, 0.5, "standard");
  const standing = (over: Partial<CampaignStanding>): CampaignStanding => ({
    flight: { impressions: 10_000, clicks: 200, conversions: 10, spend: 100 },
    targetCpa: 12.5,
    day: onTrack(100),
    flightPacing: onTrack(3000),
    ...over,
  });

  it.each<[string, Partial<CampaignStanding>, { reason: string; priority: number } | undefined]>([
    ["CPA at 10.00 under a 12.50 target, on pace: nothing to do", {}, undefined],
    [
      "CPA 13.75 over 12.50 is MEDIUM",
      { flight: { impressions: 0, clicks: 0, conversions: 96, spend: 1320 } },
      { reason: "CPA 13.75 exceeds target 12.50", priority: P.PRIORITY_MEDIUM },
    ],
    [
      "CPA 20.00 over 1.5 × 12.50 is HIGH",
      { flight: { impressions: 0, clicks: 0, conversions: 5, spend: 100 } },
      { reason: "CPA 20.00 exceeds target 12.50", priority: P.PRIORITY_HIGH },
    ],
    [
      "no conversions after 15.00 spent against 12.50 is MEDIUM",
      { flight: { impressions: 0, clicks: 0, conversions: 0, spend: 15 } },
      {
        reason: "no conversions after spending 15.00 (target CPA 12.50)",
        priority: P.PRIORITY_MEDIUM,
      },
    ],
    [
      "no conversions after 10.00 spent is not yet over target",
      { flight: { impressions: 0, clicks: 0, conversions: 0, spend: 10 } },
      undefined,
    ],
    [
      "a day over its budget is CRITICAL and carries the other reasons",
      {
        flight: { impressions: 0, clicks: 0, conversions: 96, spend: 1320 },
        day: checkPacing(100, 1320.5, 1, "standard"),
      },
      {
        reason: "CPA 13.75 exceeds target 12.50; day spend 1320.50 is over the daily budget 100.00",
        priority: P.PRIORITY_CRITICAL,
      },
    ],
    [
      "overpacing the flight by 60% is HIGH",
      { flightPacing: checkPacing(3000, 2400, 0.5, "standard") },
      {
        reason: "overpacing the flight: 2400.00 spent vs 1500.00 expected by 50% of the flight",
        priority: P.PRIORITY_HIGH,
      },
    ],
    [
      "underpacing the day by 40% is LOW",
      { day: checkPacing(100, 30, 0.5, "standard") },
      {
        reason: "underpacing the day: 30.00 spent vs 50.00 expected by 50% of the day",
        priority: P.PRIORITY_LOW,
      },
    ],
    [
      "underpacing the day below half the pace is MEDIUM",
      { day: checkPacing(100, 20, 0.5, "standard") },
      {
        reason: "underpacing the day: 20.00 spent vs 50.00 expected by 50% of the day",
        priority: P.PRIORITY_MEDIUM,
      },
    ],
  ])("%s", (_, over, expected) => {
    expect(optimizationNeed(standing(over))).toEqual(expected);
  });
});
