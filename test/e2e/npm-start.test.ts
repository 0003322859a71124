/**
 * `npm start` as a user runs it: a child process on free ports, driven over HTTP, through the
 * `eventline` CLI and in a browser, then stopped with Ctrl-C (SIGINT to its process group).
 */
import { randomUUID } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PubSub } from "@google-cloud/pubsub";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../handlers/registry";
import { type EventType } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import { toProto3Json } from "../../handlers/runtime/proto-json";
import { freePort } from "../../tools/local/emulators";
import { portIsFree } from "../../tools/local/preflight";
import { runCli } from "../cli/run-cli";
import { samplePayloads } from "../../tools/samples/events";
import { posterOf, sharer } from "../support/producers";

const ROOT = join(__dirname, "..", "..");
const CHROMIUM = "/usr/bin/chromium";
const eventTypes = eventTypesFor("local");

let child: ChildProcess;
let stdout = "";
let stderr = "";
let ports: { gateway: number; pubsub: number; firestore: number };
let base: string;
let cliEnv: NodeJS.ProcessEnv;
/** Events stored in the first run, looked for again after a restart. */
const firstRunIds: string[] = [];

/** The sample payload of `type` in the proto3 JSON form the gateway takes. */
function json(type: EventType): Record<string, unknown> {
  const message = eventTypes.get(type).message;
  return toProto3Json(message, message.fromObject(samplePayloads[type] as Record<string, unknown>));
}

const tokens = new Map<string, string>();

/** `Authorization` for `producer`, with the token `eventline token <producer>` prints. */
async function asProducer(producer: string): Promise<{ authorization: string }> {
  if (!tokens.has(producer)) {
    const result = await runCli(["token", producer], { env: cliEnv });
    expect(result.code, result.stderr).toBe(0);
    tokens.set(producer, result.stdout.trim());
  }
  return { authorization: `Bearer ${tokens.get(producer)!}` };
}

/** Posts as the type's declared producer. */
async function postEvent(
  type: EventType,
  data: object,
  headers: Record<string, string> = {},
): Promise<string> {
  const { producer, source } = posterOf(eventTypes.system, type);
  const response = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: {
      ...(await asProducer(producer)),
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": type,
      "ce-source": source,
      "ce-id": randomUUID(),
      ...headers,
    },
    body: JSON.stringify(data),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function storedEvents(): Promise<{ id: string; type: string; correlationId: string }[]> {
  const result = await runCli(["events", "--json", "--limit", "500"], { env: cliEnv });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function deadLetters(
  consumer: string,
): Promise<{ eventId?: string; reason: string; redriveCount: number }[]> {
  const result = await runCli(["dlq", "list", consumer, "--json"], { env: cliEnv });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** The environment npm start runs with: its own ports, project and saved-state folder. */
let startEnv: NodeJS.ProcessEnv;
/** Where this run's npm start saves the Firestore data, instead of the developer's .eventline/. */
const stateDir = join(mkdtempSync(join(tmpdir(), "e2e-state-")), "firestore");

/** Starts npm start in its own process group, as a terminal does, and waits until it is ready. */
async function startNpmStart(): Promise<void> {
  stdout = "";
  stderr = "";
  child = spawn("npm", ["start", "--silent"], {
    cwd: ROOT,
    env: startEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 90_000;
  while (!stdout.includes("eventline ready")) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm start did not get ready:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Ctrl-C to the group; resolves with how npm ended. */
function stopNpmStart(): Promise<[number | null, string | null]> {
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    child.once("exit", (code, signal) => resolve([code, signal])),
  );
  process.kill(-child.pid!, "SIGINT");
  return exited;
}

beforeAll(async () => {
  ports = { gateway: await freePort(), pubsub: await freePort(), firestore: await freePort() };
  base = `http://127.0.0.1:${ports.gateway}`;
  startEnv = {
    ...process.env,
    PORT: String(ports.gateway),
    EVENTLINE_PUBSUB_PORT: String(ports.pubsub),
    EVENTLINE_FIRESTORE_PORT: String(ports.firestore),
    EVENTLINE_STATE_DIR: stateDir,
    GOOGLE_CLOUD_PROJECT: "e2e",
  };
  delete startEnv["PUBSUB_EMULATOR_HOST"];
  delete startEnv["FIRESTORE_EMULATOR_HOST"];
  cliEnv = {
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`,
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${ports.firestore}`,
    GOOGLE_CLOUD_PROJECT: "e2e",
  };
  await startNpmStart();
}, 120_000);

afterAll(async () => {
  // Normally the last test has stopped it. If not, Ctrl-C first: only the process itself
  // stops the emulators it started, which run in process groups of their own.
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGINT");
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}, 30_000);

describe("npm start", () => {
  it("says eventline ready with the dashboard and gateway URLs, and which consumers it does not host", () => {
    expect(stdout).toMatch(
      new RegExp(`eventline ready\\n  dashboard  ${base}/\\n  gateway    ${base}/v1/events`),
    );
    // A subscription and a parking subscription (on its dead-letter topic) per consumer.
    const { topics, consumers } = eventTypes.system;
    expect(stderr).toContain(
      `created ${topics.length} topics, ${consumers.length} dead-letter topics and ${consumers.length * 2} subscriptions`,
    );
    const unimplemented = eventTypes.system.consumers
      .filter((c) => registry[c.handler] === undefined)
      .map((c) => c.name);
    expect(stderr).toContain(
      `hosting ${eventTypes.system.consumers.length - unimplemented.length} consumers`,
    );
    if (unimplemented.length > 0)
      expect(stderr).toContain(
        `not hosted, no implementation yet (handlers/registry.ts): ${unimplemented.join(", ")}`,
      );
    else expect(stderr).not.toContain("not hosted");
  });

  it("admits a producer only with its token, and only what it declares it posts", async () => {
    const campaign = JSON.stringify(json("com.eventline.campaign.created"));
    const headers = {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": "com.eventline.campaign.created",
      "ce-source": "//campaign-manager",
      "ce-id": randomUUID(),
    };
    const anonymous = await fetch(`${base}/v1/events`, { method: "POST", headers, body: campaign });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    expect(await anonymous.json()).toMatchObject({
      reason: "unauthenticated",
      error: expect.stringContaining("npx eventline token <producer>"),
    });
    const otherProducer = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { ...headers, ...(await asProducer("user-service")) },
      body: campaign,
    });
    expect(otherProducer.status).toBe(403);
    expect(await otherProducer.json()).toMatchObject({ reason: "type-not-allowed" });
    // A page open in the developer's browser cannot drive the server's other endpoints either.
    const crossSite = await fetch(`${base}/api/dead-letters/router/redrive`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(crossSite.status).toBe(403);
    const form = await fetch(`${base}/api/dead-letters/router/redrive`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(form.status).toBe(415);
    const mistyped = await runCli(["token", "user-servce"], { env: cliEnv });
    expect(mistyped.code).not.toBe(0);
    expect(mistyped.stderr).toContain("no producer named user-servce; did you mean user-service?");
  });

  it("takes one event of each system's domain at the gateway and stores each in the event store", async () => {
    const share = await fetch(`${base}/v1/shares`, {
      method: "POST",
      headers: {
        ...(await asProducer(sharer(eventTypes.system))),
        "content-type": "application/json",
      },
      body: JSON.stringify({
        senderUserId: "user-1",
        cardId: "card-1",
        recipients: [{ channel: "email", recipient: "ana@example.com" }],
      }),
    });
    expect(share.status).toBe(202);
    const shared = (await share.json()) as { invitations: { eventId: string }[] };
    const ids = [
      shared.invitations[0]!.eventId,
      await postEvent("com.eventline.campaign.created", json("com.eventline.campaign.created")),
      await postEvent("com.skillancer.user.created", json("com.skillancer.user.created")),
    ];
    const structured = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: {
        ...(await asProducer("ingestion-service")),
        "content-type": "application/cloudevents+json",
      },
      body: JSON.stringify({
        specversion: "1.0",
        id: randomUUID(),
        type: "com.dip.document.ingested",
        source: "/services/ingestion",
        data: json("com.dip.document.ingested"),
      }),
    });
    expect(structured.status).toBe(202);
    ids.push(((await structured.json()) as { id: string }).id);
    firstRunIds.push(...ids);
    await expect
      .poll(async () => (await storedEvents()).map((e) => e.id), { timeout: 30_000, interval: 500 })
      .toEqual(expect.arrayContaining(ids));
    // What it logged is kept for `eventline logs`, which reads it from another terminal.
    const logs = await runCli(["logs", "--lines", "1000"], { env: cliEnv });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("event accepted");
  });

  it.skipIf(registry["email-sender"] === undefined || registry["funnel-projector"] === undefined)(
    "counts a share through the funnel: sent by the email worker, opened and clicked through the tracking links",
    async () => {
      const share = await fetch(`${base}/v1/shares`, {
        method: "POST",
        headers: {
          ...(await asProducer(sharer(eventTypes.system))),
          "content-type": "application/json",
        },
        body: JSON.stringify({
          senderUserId: "user-funnel",
          cardId: "card-funnel",
          recipients: [{ channel: "email", recipient: "funnel@example.com" }],
        }),
      });
      const { invitations } = (await share.json()) as { invitations: { invitationId: string }[] };
      const invitation = invitations[0]!.invitationId;
      const card = async () =>
        (
          (await (await fetch(`${base}/api/funnel`)).json()) as {
            cards: { id: string; sent: number; opened: number; clicked: number }[];
          }
        ).cards.find((c) => c.id === "card-funnel");
      // The recipient opens the email once it has been sent, as in life.
      await expect
        .poll(card, { timeout: 20_000, interval: 300 })
        .toMatchObject({ sent: 1, opened: 0 });
      const pixel = await fetch(`${base}/t/open/${invitation}`);
      expect(pixel.headers.get("content-type")).toBe("image/gif");
      const click = await fetch(
        `${base}/t/click/${invitation}?to=${encodeURIComponent(`${base}/cards/card-funnel`)}`,
        { redirect: "manual" },
      );
      expect(click.status).toBe(302);
      // The stored counts carry no rates (the projector increments them blind); /api/funnel derives them.
      await expect.poll(card, { timeout: 20_000, interval: 300 }).toMatchObject({
        sent: 1,
        opened: 1,
        clicked: 1,
        openRate: 1,
        clickRate: 1,
        conversionRate: 0,
        overallRate: 0,
      });
    },
    60_000,
  );

  it("dead-letters an undecodable message published straight to a topic, lists it with its reason, and redrive brings it back", async () => {
    const pubsub = new PubSub({
      projectId: "e2e",
      apiEndpoint: `127.0.0.1:${ports.pubsub}`,
      emulatorMode: true,
    });
    try {
      await pubsub.topic("users").publishMessage({
        data: Buffer.from("not protobuf"),
        attributes: {
          "ce-id": "poison-e2e",
          "ce-type": "com.skillancer.user.created",
          "ce-source": "//e2e",
          "ce-specversion": "1.0",
          "ce-time": new Date().toISOString(),
          "content-type": "application/protobuf",
        },
      });
    } finally {
      await pubsub.close();
    }
    await expect
      .poll(async () => (await deadLetters("users-archiver")).map((l) => [l.eventId, l.reason]), {
        timeout: 30_000,
        interval: 500,
      })
      .toContainEqual(["poison-e2e", "undecodable-body"]);
    const redrive = await runCli(["dlq", "redrive", "users-archiver", "--id", "poison-e2e"], {
      env: cliEnv,
    });
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toContain("1 redriven from users-archiver-dlq-parking");
    // Back on its topic, still undecodable, so parked again: once more, with its redrive counted.
    await expect
      .poll(
        async () => (await deadLetters("users-archiver")).map((l) => [l.eventId, l.redriveCount]),
        { timeout: 30_000, interval: 500 },
      )
      .toEqual([["poison-e2e", 1]]);
  });

  it("publishes with the CLI and follows the event store with tail", async () => {
    const tail = spawn(
      process.execPath,
      [
        join(ROOT, "tools", "cli", "eventline.cjs"),
        "tail",
        "--type",
        "com.skillancer.user.updated",
        "-n",
        "0",
      ],
      { env: { ...process.env, ...cliEnv }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let tailed = "";
    let tailErr = "";
    tail.stdout.on("data", (chunk: Buffer) => (tailed += chunk.toString()));
    tail.stderr.on("data", (chunk: Buffer) => (tailErr += chunk.toString()));
    try {
      await expect.poll(() => tailErr, { timeout: 20_000 }).toContain("following the event store");
      const published = await runCli(
        [
          "publish",
          "com.skillancer.user.updated",
          '{"userId":"u-tail","revision":3}',
          "--correlation",
          "flow-tail",
        ],
        { env: cliEnv },
      );
      expect(published.code, published.stderr).toBe(0);
      const id = /published com\.skillancer\.user\.updated (\S+) to users/.exec(
        published.stdout,
      )?.[1];
      expect(id).toBeDefined();
      await expect
        .poll(() => tailed, { timeout: 20_000 })
        .toContain(`com.skillancer.user.updated  ${id}  correlation=flow-tail  subject=u-tail`);
    } finally {
      tail.kill("SIGINT");
    }
    const code = await new Promise<number | null>((resolve) =>
      tail.once("exit", (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(0);
  });

  describe.skipIf(!existsSync(CHROMIUM))(
    existsSync(CHROMIUM)
      ? "the dashboard"
      : `the dashboard (skipped: ${CHROMIUM} is absent; apt-get install chromium)`,
    () => {
      it("opens on the flow views, draws the topology in its tab, shows an event once it is posted, and lists the dead letters", async () => {
        const context = await chromium.launchPersistentContext(
          mkdtempSync(join(tmpdir(), "eventline-chromium-")),
          {
            executablePath: CHROMIUM,
            headless: true,
            args: [
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--disable-quic",
              "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
            ],
            viewport: { width: 1400, height: 1000 },
          },
        );
        try {
          const page = await context.newPage();
          const requests: string[] = [];
          page.on("request", (request) => requests.push(request.url()));
          // A Content-Security-Policy that blocks the page's own script or style shows only here.
          const consoleErrors: string[] = [];
          page.on("console", (message) => {
            if (message.type() === "error") consoleErrors.push(message.text());
          });
          await page.goto(`${base}/`);
          await page.locator("#status.online").waitFor();
          // The first screen is the flow: live events, consumers, dead letters and the funnel,
          // each whole within the window, not below the fold; the topology is not shown yet.
          for (const section of [
            "#events-section",
            "#consumers-section",
            "#dead-letters-section",
            "#funnel-section",
          ]) {
            const box = await page.locator(section).boundingBox();
            expect(box, `${section} is not displayed`).not.toBeNull();
            expect(box!.y + box!.height, `${section} ends below the fold`).toBeLessThanOrEqual(
              1000,
            );
            expect(box!.x + box!.width, `${section} ends beyond the window`).toBeLessThanOrEqual(
              1400,
            );
          }
          expect(await page.locator("#topology-section").isVisible()).toBe(false);
          // One click away, at its own address too.
          await page.locator("#tab-topology").click();
          await page.locator('#topology svg g[data-id="topic:viral-shares"]').waitFor();
          expect(page.url()).toBe(`${base}/#topology`);
          expect(await page.locator("#topology svg g.node.consumer").count()).toBe(
            eventTypes.system.consumers.filter((c) => !c.builtIn).length,
          );
          expect(await page.locator("#events-section").isVisible()).toBe(false);
          await page.locator("#tab-flow").click();
          const id = await postEvent(
            "com.skillancer.project.created",
            json("com.skillancer.project.created"),
            { "ce-id": "evt-dashboard-1" },
          );
          // By type as well as id: the events it causes (search.index_project) show its id too, as their correlation id.
          await page
            .locator('#events li[data-type="com.skillancer.project.created"]', { hasText: id })
            .waitFor({ timeout: 20_000 });
          const parked = page.locator('#dead-letters .dlq[data-consumer="users-archiver"]');
          await parked.filter({ hasText: "undecodable-body" }).waitFor({ timeout: 20_000 });
          await page.screenshot({
            path: join(tmpdir(), "eventline-dashboard.png"),
            fullPage: true,
          });
          // The redrive button puts it back on its topic; still undecodable, it is parked again, redriven twice now.
          await parked.locator("button.redrive").first().click();
          await page
            .locator("#redrive-outcome", { hasText: "users-archiver: 1 redriven" })
            .waitFor({ timeout: 10_000 });
          await expect
            .poll(async () => (await deadLetters("users-archiver")).map((l) => l.redriveCount), {
              timeout: 20_000,
            })
            .toEqual([2]);
          await parked
            .locator("tr", { hasText: "poison-e2e" })
            .locator("td.n")
            .nth(1)
            .filter({ hasText: "2" })
            .waitFor({ timeout: 20_000 });
          // Clicking an event shows its flow: the waterfall of its trace, drawn again as it goes on.
          const shared = await fetch(`${base}/v1/shares`, {
            method: "POST",
            headers: {
              ...(await asProducer(sharer(eventTypes.system))),
              "content-type": "application/json",
            },
            body: JSON.stringify({
              senderUserId: "user-waterfall",
              cardId: "card-waterfall",
              recipients: [{ channel: "email", recipient: "waterfall@example.com" }],
            }),
          });
          expect(shared.status).toBe(202);
          const { invitations } = (await shared.json()) as { invitations: { eventId: string }[] };
          await page
            .locator('#events li[data-type="com.eventline.share.requested"]', {
              hasText: invitations[0]!.eventId,
            })
            .click({ timeout: 20_000 });
          expect(page.url()).toContain("#trace=");
          const row = (name: string) => page.locator(`#trace .span-row[data-name="${name}"]`);
          await row("process funnel-projector").first().waitFor({ timeout: 30_000 });
          for (const name of [
            "POST /v1/shares",
            "send viral-shares",
            "process email-worker",
            "handle email-sender",
            "send viral-funnel",
          ])
            expect(await row(name).count(), name).toBeGreaterThan(0);
          // The clicked event's own spans stand out, and every bar is laid out in the track.
          expect(
            await page.locator('#trace .span-row.focus[data-name="process email-worker"]').count(),
          ).toBe(1);
          const bar = await row("process email-worker").locator(".span-bar").boundingBox();
          expect(bar!.width).toBeGreaterThan(0);
          await expect
            .poll(() => row("process email-worker").locator(".span-details").textContent())
            .toContain("attempt 1 · handled");
          await page.screenshot({
            path: join(tmpdir(), "eventline-dashboard-trace.png"),
            fullPage: true,
          });
          // Nothing outside loopback: no CDN, no fonts, no analytics.
          expect(requests.filter((url) => !url.startsWith(base))).toEqual([]);
          expect(consoleErrors).toEqual([]);
        } finally {
          await context.close();
        }
      });
    },
  );

  it("stops everything it started, emulators included, on Ctrl-C", async () => {
    const exited = stopNpmStart();
    // npm itself ends by the signal, as in a terminal; the environment under it stops cleanly.
    expect(await exited).toSatisfy(([code, signal]) => code === 0 || signal === "SIGINT");
    await expect
      .poll(() => stderr, {
        timeout: 20_000,
        message: `npm start did not say it stopped; its last output:\n${stdout.slice(-2000)}`,
      })
      .toContain("eventline: stopped");
    await expect
      .poll(
        async () =>
          (await Promise.all([ports.gateway, ports.pubsub, ports.firestore].map(portIsFree))).every(
            Boolean,
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    // The group (npm, tsx, node, the emulators' launchers and JVMs) is gone.
    expect(() => process.kill(-child.pid!, 0)).toThrow();
  });

  it("keeps the event store across a restart, and eventline reset forgets it", async () => {
    expect(stderr).toContain(`saved the Firestore data to ${stateDir} for the next start`);
    await startNpmStart();
    expect(stderr).toContain(`Firestore holds what the last run saved in ${stateDir}`);
    expect((await storedEvents()).map((e) => e.id)).toEqual(expect.arrayContaining(firstRunIds));
    expect(await stopNpmStart()).toSatisfy(([code, signal]) => code === 0 || signal === "SIGINT");
    await expect.poll(() => stderr, { timeout: 20_000 }).toContain("eventline: stopped");
    const reset = await runCli(["reset"], { env: { EVENTLINE_STATE_DIR: stateDir } });
    expect(reset.stdout).toBe(`removed ${stateDir}; the next npm start begins empty\n`);
    expect(existsSync(stateDir)).toBe(false);
  }, 120_000);
});
