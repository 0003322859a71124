import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readOptions } from "../../bench/support/driver";
import { withMaxMessages } from "../../bench/support/flow-control-override";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { PROGRESS_TAG, parseProgress } from "../../bench/support/recorder";
import { markdownTable, plainTable, type BenchResult } from "../../bench/support/report";
import { latestResultFile, updateReadme } from "../../bench/support/results";
import { percentiles, quantile, ratio, sorted, spread } from "../../bench/support/stats";

describe("the benchmark statistics", () => {
  it.each([
    [[5, 1, 3], 0.5, 3],
    [[1, 2, 3, 4], 0.5, 2],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [[7], 0.99, 7],
  ])("takes the nearest-rank quantile of %j at %d", (values, q, expected) => {
    expect(quantile(sorted(values), q)).toBe(expected);
  });

  it("sorts numbers as numbers, not as text", () => {
    expect([...sorted([10, 9, 100])]).toEqual([9, 10, 100]);
  });

  it("summarises runs as min, median and max, the median of an even count averaged", () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ min: 1, median: 2.5, max: 4 });
  });

  it("reports a run's p50, p99 and max, and NaN for no samples", () => {
    expect(percentiles([2, 1, 3])).toEqual({ p50: 2, p99: 3, max: 3, count: 3 });
    expect(percentiles([]).p50).toBeNaN();
  });

  it("gives ratios to two decimals", () => {
    expect(ratio(2, 3)).toBe(0.67);
  });
});

describe("the benchmark tables", () => {
  const table = {
    columns: ["consumer", "events/s"],
    rows: [
      ["baseline", 2000],
      ["a|b", 1500],
    ],
  };

  it("aligns plain text: first column left, the others right", () => {
    expect(plainTable(table).split("\n")).toEqual([
      "consumer  events/s",
      "--------  --------",
      "baseline      2000",
      "a|b           1500",
    ]);
  });

  it("escapes pipes in Markdown cells", () => {
    expect(markdownTable(table)).toContain("| a\\|b | 1500 |");
  });
});

describe("the measured processes' progress lines", () => {
  it("are told apart from log lines", () => {
    const progress = {
      t: 1,
      received: 2,
      handled: 1,
      duplicate: 0,
      retry: 1,
      deadLettered: 0,
      skipped: 0,
      inFlight: 0,
      rssMb: 100,
      firstReceivedAt: 1,
      lastHandledAt: 1,
    };
    expect(parseProgress(JSON.stringify({ [PROGRESS_TAG]: progress }))).toEqual(progress);
    expect(parseProgress('{"severity":"INFO","message":"started"}')).toBeUndefined();
  });
});

describe("the driver's options", () => {
  it("runs smoke runs once without waiting, and recorded runs three times after waiting for a quiet machine", () => {
    expect(readOptions(["--smoke"])).toMatchObject({ smoke: true, runs: 1, waitQuietMinutes: 0 });
    expect(readOptions([])).toMatchObject({ smoke: false, runs: 3, waitQuietMinutes: 30 });
    expect(readOptions(["--only", "gateway, pipeline", "--runs", "5"])).toMatchObject({
      only: ["gateway", "pipeline"],
      runs: 5,
    });
  });

  it("refuses a run count that is not a whole number of at least 1", () => {
    expect(() => readOptions(["--runs", "0"])).toThrow(/--runs 0/);
  });

  it("refuses an option it does not know, rather than running everything", () => {
    expect(() => readOptions(["--scenario", "worker-kill"])).toThrow(/--scenario/);
    expect(() => readOptions(["--smok"])).toThrow(/--smok/);
  });

  it("hands a command its own options, and knows --help", () => {
    expect(readOptions(["--scenarios", "bad-input", "--smoke"], ["scenarios"])).toMatchObject({
      smoke: true,
      options: { scenarios: "bad-input" },
    });
    expect(readOptions([], ["scenarios"]).options).toEqual({ scenarios: undefined });
    expect(readOptions(["-h"])).toMatchObject({ help: true });
  });
});

describe("the README's results section", () => {
  const result = (title: string): BenchResult => ({
    benchmark: "pipeline",
    title,
    date: "2026-11-23",
    smoke: false,
    machine: { node: "v20", platform: "linux-x64", cpus: 2, cpuModel: "cpu", memoryGiB: 24 },
    load: { start: 0.5, end: 1.2, startedLoaded: false },
    settings: {},
    table: { columns: ["a", "b"], rows: [["x", 1]] },
    targets: [{ target: "nothing lost", measured: "0", met: true, correctness: true }],
    notes: ["a note"],
    runs: [],
  });

  it("is generated from the newest result of each benchmark, between markers, keeping the hand-written text around it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-readme-"));
    const readme = join(dir, "README.md");
    writeFileSync(readme, "# Benchmarks\n\nHand-written.\n");
    writeFileSync(join(dir, "2026-11-22-pipeline.json"), JSON.stringify(result("older")));
    writeFileSync(join(dir, "2026-11-23-pipeline.json"), JSON.stringify(result("newer")));
    updateReadme(readme, dir);
    updateReadme(readme, dir);
    const text = readFileSync(readme, "utf8");
    expect(text.startsWith("# Benchmarks\n\nHand-written.\n")).toBe(true);
    expect(text).toContain("### newer");
    expect(text).not.toContain("### older");
    expect(text).toContain("- **met**: nothing lost: 0");
    expect(text.match(/bench-results:begin/g)).toHaveLength(1);
  });

  it("finds a benchmark's newest result across days, so a partial fault run keeps yesterday's rows", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-latest-"));
    expect(latestResultFile("faults", dir)).toBeUndefined();
    writeFileSync(join(dir, "2026-12-05-faults.json"), "{}");
    writeFileSync(join(dir, "2026-12-04-faults.json"), "{}");
    writeFileSync(join(dir, "2026-12-06-pipeline.json"), "{}");
    expect(latestResultFile("faults", dir)).toBe(join(dir, "2026-12-05-faults.json"));
  });
});

describe("the benchmarks' flow-control override", () => {
  it("reaches the declaration the runtime resolves, as a stack override would", () => {
    const declared = resolveSystem(system, "local").consumers.find(
      (c) => c.name === "email-worker",
    );
    expect(declared?.delivery === "pull" && declared.gke.maxMessages).toBe(10);
    const overridden = resolveSystem(
      withMaxMessages(system, "local", "email-worker", 200),
      "local",
    );
    const worker = overridden.consumers.find((c) => c.name === "email-worker");
    expect(worker?.delivery === "pull" && worker.gke.maxMessages).toBe(200);
    // Everything else stays as declared.
    expect(overridden.consumers.length).toBe(resolveSystem(system, "local").consumers.length);
    expect(worker?.subscription).toBe(declared?.subscription);
  });
});
