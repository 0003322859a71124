/**
 * `eventline hooks listen` as a user runs it: a real process on a free port that takes a
 * delivery signed as the hooks sign them (verified with the standardwebhooks library), refuses
 * one signed with another secret, and prints both; `hooks list` shows where each hook is sent.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signedDelivery } from "../../handlers/adapters/hook";
import { LOCAL_HOOK_SIGNING_SECRET } from "../../handlers/adapters/local-hook-secret";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { BIN, runCli } from "./run-cli";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);

function delivery(secret: string) {
  const message = codec.encode(
    "com.eventline.campaign.optimization_required",
    { campaignId: "c-9", reason: "pacing" },
    { source: "//eventline/campaign-processor", id: randomUUID() },
  );
  const event = codec.decode({ data: message.data, attributes: message.attributes }, "campaigns");
  return signedDelivery(event as never, eventTypes, new Webhook(secret));
}

describe("eventline hooks", () => {
  it("listen: verifies each delivery's signature with the local secret, prints it, and refuses a forged one", async () => {
    const child = spawn(process.execPath, [BIN, "hooks", "listen", "--port", "0"], {
      env: { ...process.env, METADATA_SERVER_DETECTION: "none" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/listening on (http:\/\/\S+)\/<hook>/.test(stderr) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      const base = /listening on (http:\/\/\S+)\/<hook>/.exec(stderr)![1]!;

      const good = delivery(LOCAL_HOOK_SIGNING_SECRET);
      const ok = await fetch(`${base}/optimization-agents`, { method: "POST", ...good });
      expect(ok.status).toBe(204);

      const forged = delivery(
        `whsec_${Buffer.from("someone-else-entirely-32-bytes!!").toString("base64")}`,
      );
      const refused = await fetch(`${base}/optimization-agents`, { method: "POST", ...forged });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toMatch(/^signature: /);

      const notAnEvent = await fetch(`${base}/x`, { method: "GET" });
      expect(notAnEvent.status).toBe(405);

      while (stdout.split("\n").filter(Boolean).length < 4 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stdout).toContain(
        `ok  /optimization-agents  com.eventline.campaign.optimization_required  id=${good.headers["ce-id"]}`,
      );
      expect(stdout).toContain('"campaignId":"c-9"');
      expect(stdout).toMatch(/REFUSED 401 {2}\/optimization-agents {2}signature: /);
    } finally {
      child.kill("SIGINT");
      await once(child, "close");
    }
  }, 60_000);

  it("list: names each hook, what it takes, where it is sent on the stack, and what it may answer", async () => {
    const local = await runCli(["hooks", "list"]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(
      /optimization-agents +com\.eventline\.campaign\.optimization_required +http:\/\/127\.0\.0\.1:8787\/optimization-agents +com\.eventline\.campaign\.optimized/,
    );
    const prod = await runCli(["hooks", "list", "--stack", "prod"]);
    expect(prod.stdout).toContain("https://agents.eventline.example/hooks/optimization");
    const badSecret = await runCli(["hooks", "listen", "--secret", "hunter2"]);
    expect(badSecret.code).toBe(1);
    expect(badSecret.stderr).toMatch(/^eventline: --secret is not a Standard Webhooks secret/);
  }, 60_000);
});
