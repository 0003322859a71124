import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startContainer } from "../../tools/verify/container";
import { checkProbe, probeBudgetSeconds, waitForProbe } from "../../tools/verify/probes";
import { fakeImage } from "./fake-image";

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === "/slow") return void setTimeout(() => response.end("late"), 1500);
    response.writeHead(request.url === "/healthz" ? 200 : request.url === "/moved" ? 302 : 404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("probes", () => {
  it("have Kubernetes' defaults: a budget of 10 s period × 3 failures", () => {
    expect(probeBudgetSeconds({ kind: "liveness", path: "/healthz", port: 8080 })).toBe(30);
    expect(
      probeBudgetSeconds({
        kind: "startup",
        path: "/readyz",
        port: 8080,
        initialDelaySeconds: 5,
        periodSeconds: 2,
        failureThreshold: 30,
      }),
    ).toBe(65);
  });

  it("waitForProbe passes for a path that answers, soon after it first does", async () => {
    const result = await waitForProbe({ kind: "readiness", path: "/healthz", port: 8080 }, port);
    expect(result).toMatchObject({
      kind: "readiness",
      path: "/healthz",
      passed: true,
      budgetSeconds: 30,
    });
    expect(result.after).toBeLessThan(1);
  });

  it("checkProbe counts a redirect as a pass and an answer slower than timeoutSeconds as a failure", async () => {
    expect(await checkProbe({ kind: "liveness", path: "/moved", port: 8080 }, port)).toEqual({
      passed: true,
      status: 302,
      detail: "GET /moved → 302",
    });
    expect(
      await checkProbe({ kind: "liveness", path: "/slow", port: 8080, timeoutSeconds: 1 }, port),
    ).toEqual({ passed: false, detail: "GET /slow: no answer within 1 s" });
  });

  it("waitForProbe fails for a path that 404s, once its budget is spent", async () => {
    const started = Date.now();
    const result = await waitForProbe(
      { kind: "startup", path: "/missing", port: 8080, periodSeconds: 1, failureThreshold: 2 },
      port,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result).toMatchObject({ passed: false, budgetSeconds: 2 });
    expect(result.after).toBeUndefined();
    expect(result.detail).toMatch(
      /^startup probe GET \/missing did not pass within its budget of 2 s .*last attempt: GET \/missing → 404$/,
    );
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(seconds).toBeLessThan(4);
  });

  it("waitForProbe fails early with the exit code and the last output when the process exits", async () => {
    const container = await startContainer({
      name: "crashing",
      image: fakeImage,
      command: ["node", "workload.mjs", "crash"],
      env: {},
      overrides: {},
    });
    const started = Date.now();
    const result = await waitForProbe(
      { kind: "startup", path: "/readyz", port: 8080, periodSeconds: 10, failureThreshold: 6 },
      port + 1,
      container,
    );
    expect((Date.now() - started) / 1000).toBeLessThan(5);
    expect(result).toMatchObject({ passed: false, budgetSeconds: 60 });
    expect(result.detail).toMatch(
      /^the process exited with code 3 after [\d.]+ s, before startup probe GET \/readyz passed; its last output:\n {2}boom: cannot start$/,
    );
  });
});
