import { describe, expect, it } from "vitest";
import { PermanentError, RetryableError } from "../../handlers/runtime/errors";
import { OutsideCall, OutsideCalls } from "../../handlers/runtime/resilience";

const fast = { initialBackoffMs: 1, maxBackoffMs: 2, halfOpenAfterMs: 50 };

describe("an outside call", () => {
  it("retries a failed attempt with backoff and returns the first success", async () => {
    const call = new OutsideCall("smtp", { ...fast, retries: 2 });
    let attempts = 0;
    const result = await call.execute(async () => {
      if (++attempts < 3) throw new RetryableError("503");
      return "sent";
    });
    expect(result).toBe("sent");
    expect(attempts).toBe(3);
  });

  it("neither retries a PermanentError nor counts it against the service", async () => {
    const call = new OutsideCall("smtp", { ...fast, retries: 3, breakAfter: 1 });
    let attempts = 0;
    await expect(
      call.execute(async () => {
        attempts++;
        throw new PermanentError("rejected", "no such mailbox");
      }),
    ).rejects.toBeInstanceOf(PermanentError);
    expect(attempts).toBe(1);
    expect(call.state).toBe("closed");
  });

  it("opens the circuit after consecutive failures, fails fast while open, half-opens after the delay and closes on success", async () => {
    const call = new OutsideCall("sms-provider", { ...fast, retries: 0, breakAfter: 3 });
    const failing = async (): Promise<string> => {
      throw new Error("connection reset");
    };
    for (let i = 0; i < 3; i++)
      await expect(call.execute(failing)).rejects.toThrow("connection reset");
    expect(call.state).toBe("open");
    let called = false;
    const open = call.execute(async () => {
      called = true;
      return "x";
    });
    await expect(open).rejects.toBeInstanceOf(RetryableError);
    await expect(open).rejects.toThrow(/circuit is open/);
    expect(called).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await call.execute(async () => "back")).toBe("back");
    expect(call.state).toBe("closed");
  });

  it("turns a timed-out attempt into a RetryableError and aborts its signal", async () => {
    const call = new OutsideCall("slow", { ...fast, retries: 0, timeoutMs: 20 });
    let aborted = false;
    await expect(
      call.execute(
        (signal) =>
          new Promise((resolve) => {
            signal.addEventListener("abort", () => (aborted = true));
            setTimeout(resolve, 200);
          }),
      ),
    ).rejects.toThrow(/timed out/);
    expect(aborted).toBe(true);
  });

  it("rejects a call with a RetryableError when the bulkhead and its queue are full", async () => {
    const call = new OutsideCall("narrow", { ...fast, retries: 0, maxConcurrent: 1, maxQueued: 0 });
    let release: () => void = () => {};
    const first = call.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(call.execute(async () => "second")).rejects.toThrow(/too many calls in flight/);
    release();
    await first;
  });

  it("is shared by name across the process, so one breaker sees every call", () => {
    const calls = new OutsideCalls();
    expect(calls.get("smtp")).toBe(calls.get("smtp", { retries: 9 }));
    expect(calls.get("smtp")).not.toBe(calls.get("sms"));
  });
});
