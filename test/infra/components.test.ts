import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateProgram } from "../../infra/evaluate";
import { contentHash } from "../../infra/gcp/handler-image";
import { accountId } from "../../infra/gcp/platform";
import type { SystemSpec } from "../../infra/model/types";
import { system } from "../../infra/system";

describe("service account ids", () => {
  it.each([
    ["run", "router"],
    ["wrk", "a"],
    ["run", "notify-project-published"],
    ["wrk", "index-project-archiver"],
    ["push", "a-consumer-name-of-forty-characters-long"],
  ])("%s + %s gives a valid id (6..30 of [a-z0-9-], starting with a letter)", (kind, name) => {
    expect(accountId(kind, name)).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
  });

  it("keeps short names readable and tells apart long names that share a prefix", () => {
    expect(accountId("run", "router")).toBe("run-router");
    const first = accountId("wrk", "synthetic-consumer-with-a-long-name-1");
    const second = accountId("wrk", "synthetic-consumer-with-a-long-name-2");
    expect(first).not.toBe(second);
    expect(accountId("wrk", "synthetic-consumer-with-a-long-name-1")).toBe(first);
  });
});

describe("the handler image's content tag", () => {
  const tree = () => {
    const root = mkdtempSync(join(tmpdir(), "eventline-image-"));
    mkdirSync(join(root, "handlers"));
    writeFileSync(join(root, "handlers", "main.ts"), "export {};\n");
    writeFileSync(join(root, "README.md"), "docs\n");
    return root;
  };

  it("stays the same for an unchanged tree, so nothing rolls out", () => {
    const root = tree();
    expect(contentHash(root, ["handlers"])).toBe(contentHash(root, ["handlers"]));
  });

  it("changes when a handler changes, so every service rolls out", () => {
    const root = tree();
    const before = contentHash(root, ["handlers"]);
    writeFileSync(join(root, "handlers", "main.ts"), "export const changed = true;\n");
    expect(contentHash(root, ["handlers"])).not.toBe(before);
  });

  it("ignores files that are not built into the image", () => {
    const root = tree();
    const before = contentHash(root, ["handlers"]);
    writeFileSync(join(root, "README.md"), "more docs\n");
    expect(contentHash(root, ["handlers"])).toBe(before);
  });
});

describe("components reject impossible arguments before creating anything in the cloud", () => {
  const withConsumers = (consumers: SystemSpec["consumers"]): SystemSpec => ({
    ...system,
    consumers: { ...system.consumers, ...consumers },
  });

  it("refuses a Cloud Run handler below one vCPU that serves concurrent requests, naming the field and the fix", async () => {
    const spec = withConsumers({
      "sms-worker": {
        ...system.consumers["sms-worker"],
        cloudRun: { cpu: "500m", concurrency: 80 },
      },
    });
    await expect(evaluateProgram({ stack: "dev", system: spec })).rejects.toThrow(
      /HandlerService sms-worker: placement\.cpu "500m" is below one vCPU.*raise cloudRun\.cpu to "1" or set cloudRun\.concurrency to 1/,
    );
  });

  it("refuses a consumer that would take the gateway's service name", async () => {
    const spec = withConsumers({
      gateway: { handler: "router", topic: "documents", delivery: "push" },
    });
    await expect(evaluateProgram({ stack: "dev", system: spec })).rejects.toThrow(
      /consumers\.gateway: "gateway" is the name of a platform service.*rename the consumer/,
    );
  });
});
