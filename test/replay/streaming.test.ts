/**
 * The parts of the streaming replay that need no emulator: lanes keep each key's order and the
 * window's bound, the applied prefix advances only over events applied with all before them,
 * and a tally lists a bounded number of problems.
 */
import { describe, expect, it } from "vitest";
import { AppliedPrefix } from "../../tools/replay/applied-prefix";
import {
  addTally,
  emptyTally,
  LISTED_PROBLEMS,
  requestKey,
  type ReplayTally,
} from "../../tools/replay/checkpoint";
import { Lanes } from "../../tools/replay/lanes";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("lanes", () => {
  it("run each key's tasks in the order added, keys side by side, never more than the limit at once", async () => {
    const lanes = new Lanes(6);
    const done: Record<string, number[]> = {};
    let running = 0;
    let most = 0;
    for (let i = 0; i < 60; i++) {
      const key = `k${i % 4}`;
      await lanes.add(key, async () => {
        most = Math.max(most, ++running);
        // Earlier tasks are slower: run freely, later ones would finish first.
        await pause(i % 8 < 4 ? 6 : 0);
        (done[key] ??= []).push(i);
        running--;
      });
    }
    await lanes.drain();
    for (let k = 0; k < 4; k++)
      expect(done[`k${k}`]).toEqual(Array.from({ length: 15 }, (_, j) => k + 4 * j));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it("stop taking tasks after one fails, and drain throws its error", async () => {
    const lanes = new Lanes(2);
    await lanes.add("a", async () => {
      throw new Error("handler store unreachable");
    });
    await expect(lanes.drain()).rejects.toThrow("handler store unreachable");
    await expect(lanes.add("b", async () => undefined)).rejects.toThrow(
      "handler store unreachable",
    );
  });
});

describe("the applied prefix", () => {
  const at = (id: string) => ({ time: "2026-12-01T00:00:00Z", id });

  it("ends at the last event applied with every one before it, and counts only those", () => {
    const prefix = new AppliedPrefix(10);
    const events = ["a", "b", "c"].map((id, i) => prefix.next(at(id), i + 1));
    events.forEach((e) => e.tally.replayed++);
    events[1]!.applied();
    events[2]!.applied();
    expect(prefix.position).toBeUndefined();
    expect(prefix.tally.replayed).toBe(0);
    expect(prefix.held).toBe(3);
    events[0]!.applied();
    expect(prefix.position).toEqual(at("c"));
    expect(prefix.tally).toMatchObject({ replayed: 3, read: 3 });
    expect(prefix.held).toBe(0);
  });

  it("starts from a resumed checkpoint's counts without changing them", () => {
    const start: ReplayTally = { ...emptyTally(), read: 7, replayed: 7 };
    const prefix = new AppliedPrefix(10, { tally: start, position: at("g") });
    const next = prefix.next(at("h"), 8);
    next.tally.replayed++;
    next.applied();
    expect(prefix.tally).toMatchObject({ read: 8, replayed: 8 });
    expect(start).toMatchObject({ read: 7, replayed: 7 });
  });
});

describe("tallies", () => {
  it("list the first problems and count the rest", () => {
    const total = emptyTally();
    for (let i = 0; i < LISTED_PROBLEMS + 5; i++)
      addTally(total, {
        ...emptyTally(),
        failures: [{ consumer: "c", eventId: `e${i}`, type: "t", reason: "r", error: "x" }],
      });
    expect(total.failures).toHaveLength(LISTED_PROBLEMS);
    expect(total.unlisted).toBe(5);
  });

  it("identify a request by what it asks, whatever the order of handlers and fields", () => {
    const from = new Date("2026-12-01T00:00:00Z");
    expect(
      requestKey({
        handlers: ["b", "a"],
        chain: false,
        stack: "local",
        selection: { types: ["x"], from },
      }),
    ).toBe(
      requestKey({
        handlers: ["a", "b"],
        chain: false,
        stack: "local",
        selection: { from: new Date(from), types: ["x"], to: undefined },
      }),
    );
  });
});
