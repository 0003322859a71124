import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { startContainer } from "../../tools/verify/container";
import { buildImage, type ImageBuild } from "../../tools/verify/image";
import { waitForProbe } from "../../tools/verify/probes";

const REPO = join(__dirname, "..", "..");

let workDir: string;
let image: ImageBuild;
let coldSeconds: number;
const progress: string[] = [];
let pubsub: RunningEmulator | undefined;
let firestore: RunningEmulator | undefined;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "eventline-verify-image-"));
  const started = Date.now();
  [image, pubsub, firestore] = await Promise.all([
    buildImage({
      dockerfile: join(REPO, "handlers", "Dockerfile"),
      context: REPO,
      workDir,
      say: (line) => progress.push(line),
    }).then((built) => {
      coldSeconds = (Date.now() - started) / 1000;
      return built;
    }),
    startEmulator("pubsub"),
    startEmulator("firestore"),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([pubsub?.stop(), firestore?.stop()]);
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}, 30_000);

describe("buildImage on handlers/Dockerfile", () => {
  it("reads the final stage's CMD, ENV, USER and EXPOSE", () => {
    expect(image.command).toEqual(["node", "dist/handlers/main.js"]);
    expect(image.env).toEqual({
      NODE_ENV: "production",
      NODE_OPTIONS: "--enable-source-maps",
      PORT: "8080",
    });
    expect(image.user).toBe("1000:1000");
    expect(image.exposed).toEqual([8080]);
    // handlers/Dockerfile pins its base by digest, the tag kept for readers.
    expect(image.baseImage).toMatch(/^node:20-slim@sha256:[0-9a-f]{64}$/);
    expect(image.cached).toBe(false);
  });

  it("puts dist, the production node_modules and package.json in the app directory, and nothing else", async () => {
    expect(existsSync(join(image.appDir, "dist", "handlers", "main.js"))).toBe(true);
    expect(
      existsSync(join(image.appDir, "node_modules", "@google-cloud", "pubsub", "package.json")),
    ).toBe(true);
    expect(existsSync(join(image.appDir, "node_modules", "vitest"))).toBe(false);
    expect(existsSync(join(image.appDir, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(join(image.appDir, "handlers"))).toBe(false);
    expect(await readFile(join(image.appDir, "package.json"), "utf8")).toBe(
      await readFile(join(REPO, "package.json"), "utf8"),
    );
  });

  it("leaves out of the build what the Dockerfile's ignore file excludes", () => {
    const build = join(image.appDir, "..", "..", "0-build", "app");
    expect(existsSync(join(build, "handlers", "main.ts"))).toBe(true);
    expect(existsSync(join(build, "handlers", "testing"))).toBe(false);
  });

  it("runs the image's CMD from the app directory as a gateway that answers GET /healthz", async () => {
    const port = await freePort();
    const container = await startContainer({
      name: "gateway",
      image,
      env: {
        MODE: "gateway",
        GOOGLE_CLOUD_PROJECT: "verify-image-test",
        STACK: "dev",
        EVENTLINE_GATEWAY_AUDIENCE: "eventline://dev/gateway",
        EVENTLINE_PRODUCER_ACCOUNTS:
          '{"user-service":"prd-user-service@p.iam.gserviceaccount.com"}',
      },
      overrides: {
        PORT: String(port),
        PUBSUB_EMULATOR_HOST: pubsub!.host,
        FIRESTORE_EMULATOR_HOST: firestore!.host,
        METADATA_SERVER_DETECTION: "none",
      },
    });
    try {
      const probe = await waitForProbe(
        { kind: "startup", path: "/healthz", port: 8080, periodSeconds: 2, failureThreshold: 15 },
        port,
        container,
      );
      expect(probe.passed, probe.detail).toBe(true);
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(response.status).toBe(200);
    } finally {
      const stopped = await container.stop(10);
      expect(stopped).toMatchObject({ code: 0, killed: false });
    }
  }, 60_000);

  it("reuses the finished build when nothing it is made from changed", async () => {
    const started = Date.now();
    const again = await buildImage({
      dockerfile: join(REPO, "handlers", "Dockerfile"),
      context: REPO,
      workDir,
    });
    const warmSeconds = (Date.now() - started) / 1000;
    expect(again).toEqual({ ...image, cached: true });
    expect(warmSeconds).toBeLessThan(coldSeconds);
    expect(progress.some((line) => line.includes("RUN npx tsc -p tsconfig.build.json"))).toBe(true);
  });
});
