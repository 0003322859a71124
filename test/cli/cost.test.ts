/**
 * `eventline cost` as a user runs it: the real program evaluated for a stack, every service of
 * the rate card priced, JSON that `--baseline` reads back, and clear errors for bad flags.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CostEstimate } from "../../tools/cost/estimate";
import { runCli } from "./run-cli";

describe("eventline cost", () => {
  it("prices every service the prod stack uses, and compares with a baseline", async () => {
    const json = await runCli(["cost", "--stack", "prod", "--json"], { timeoutMs: 90_000 });
    expect(json.code, json.stderr).toBe(0);
    const estimate = JSON.parse(json.stdout) as CostEstimate;
    expect(estimate.scales).toEqual([1, 10, 100]);
    expect(estimate.byService.map((s) => s.name).sort()).toEqual([
      "Artifact Registry",
      "Cloud Monitoring",
      "Cloud Run",
      "Firestore",
      "GKE Autopilot",
      "Pub/Sub",
      "Secret Manager",
    ]);
    // The declared traffic grows the bill; the fixed part (idle, minimum replicas) does not.
    expect(estimate.total[1]!).toBeGreaterThan(estimate.total[0]!);
    expect(estimate.total[2]!).toBeGreaterThan(estimate.total[1]!);
    expect(estimate.total[2]!).toBeLessThan(100 * estimate.total[0]!);
    // The viral-sharing consumers are priced from their declared shares and handler times.
    expect(estimate.byConsumer.map((c) => c.name)).toEqual(
      expect.arrayContaining(["email-worker", "sms-worker", "whatsapp-worker", "funnel-projector"]),
    );
    expect(estimate.topicsWithoutVolume).toContain("campaigns");

    const dir = mkdtempSync(join(tmpdir(), "eventline-cost-"));
    const baseline = join(dir, "main.json");
    writeFileSync(baseline, JSON.stringify({ ...estimate, total: [estimate.total[0]! + 5, 0, 0] }));
    const markdown = await runCli(["cost", "--stack", "prod", "--baseline", baseline], {
      timeoutMs: 90_000,
    });
    expect(markdown.code, markdown.stderr).toBe(0);
    expect(markdown.stdout).toContain("## Monthly cost of stack prod");
    expect(markdown.stdout).toContain("**−$5.00 a month at 1×** against the baseline");
    expect(markdown.stdout).toContain("| email-worker |");
  }, 200_000);

  it("names the flag when the baseline or the rate card is not usable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eventline-cost-"));
    const notJson = join(dir, "main.json");
    writeFileSync(notJson, "<html>");
    const bad = await runCli(["cost", "--stack", "prod", "--baseline", notJson]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^eventline: --baseline .*main\.json is not JSON/);
    const card = join(dir, "card.json");
    writeFileSync(card, JSON.stringify({ version: "x" }));
    const badCard = await runCli(["cost", "--stack", "prod", "--rate-card", card]);
    expect(badCard.code).toBe(1);
    expect(badCard.stderr).toMatch(/^eventline: rate card .*card\.json lacks or misstates: date/);
    const noStack = await runCli(["cost"]);
    expect(noStack.code).toBe(1);
    expect(noStack.stderr).toContain("--stack");
  }, 60_000);
});
