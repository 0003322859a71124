import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../tools/local/emulators";
import { startContainer, type RunningContainer } from "../../tools/verify/container";
import { waitForProbe } from "../../tools/verify/probes";
import { fakeImage } from "./fake-image";

const started: RunningContainer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((container) => container.stop(1)));
});

async function start(
  spec: Omit<Parameters<typeof startContainer>[0], "image" | "name">,
): Promise<RunningContainer> {
  const container = await startContainer({ name: "workload", image: fakeImage, ...spec });
  started.push(container);
  return container;
}

/** The JSON line the `env` mode prints, once the process has exited. */
async function report(
  container: RunningContainer,
): Promise<{ env: Record<string, string>; argv: string[]; execPath: string; cwd: string }> {
  expect(await container.exited).toEqual({ code: 0, signal: null });
  return JSON.parse(container.output.find((line) => line.startsWith("{"))!) as never;
}

/** Whether `pid` is a live process (a zombie waiting to be reaped is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

describe("startContainer", () => {
  it("passes only the image's ENV, the declared env and the overrides, overrides winning", async () => {
    process.env["VERIFY_PARENT_ONLY"] = "must not leak";
    try {
      const container = await start({
        command: ["node", "workload.mjs", "env"],
        env: { DECLARED: "yes", SHARED: "declared", PORT: "8080" },
        overrides: { PORT: "40001" },
      });
      const { env } = await report(container);
      expect(env).toEqual({
        PATH: expect.any(String),
        FROM_IMAGE: "image",
        SHARED: "declared",
        DECLARED: "yes",
        PORT: "40001",
      });
      expect(container.env).toEqual(env);
    } finally {
      delete process.env["VERIFY_PARENT_ONLY"];
    }
  });

  it("runs node as this Node.js from the app directory, expanding $(VAR) in declared args", async () => {
    const container = await start({
      command: ["node"],
      args: ["workload.mjs", "$(WHAT)", "$$(WHAT)"],
      env: { WHAT: "env" },
      overrides: {},
    });
    const { argv, execPath, cwd } = await report(container);
    expect(argv).toEqual(["env", "$(WHAT)"]);
    expect(execPath).toBe(process.execPath);
    expect(cwd).toBe(fakeImage.appDir);
  });

  it("takes declared args alone as the whole command line, since the image has no ENTRYPOINT", async () => {
    const container = await start({
      args: ["node", "workload.mjs", "env", "from-args"],
      env: {},
      overrides: {},
    });
    expect((await report(container)).argv).toEqual(["env", "from-args"]);
  });

  it("runs the image's CMD when neither command nor args is declared", async () => {
    const container = await start({ env: {}, overrides: { PORT: "0" } });
    while (!container.output.includes("listening"))
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(container.argv).toEqual([process.execPath, "workload.mjs"]);
  });

  it("rewrites an env value under a mount path to the local directory holding the volume's files", async () => {
    const container = await start({
      command: ["node", "workload.mjs", "read"],
      env: { SECRET_FILE: "/secrets/smtp/url", UNRELATED: "/secretsx/url" },
      overrides: {},
      mounts: [{ mountPath: "/secrets/smtp", files: { url: "smtp://127.0.0.1:2525" } }],
    });
    await container.exited;
    expect(container.output).toEqual(["smtp://127.0.0.1:2525"]);
    const local = container.mounts["/secrets/smtp"]!;
    expect(container.rewrites).toEqual([
      { variable: "SECRET_FILE", from: "/secrets/smtp/url", to: `${local}/url` },
    ]);
    expect(container.env["UNRELATED"]).toBe("/secretsx/url");
    expect(container.notes).toContain(
      `SECRET_FILE=/secrets/smtp/url points into a mounted volume; it is ${local}/url here`,
    );
    expect(existsSync(local)).toBe(false);
  });

  it("stop() ends a workload with SIGTERM within the grace period", async () => {
    const port = await freePort();
    const container = await start({ env: {}, overrides: { PORT: String(port) } });
    expect(
      (await waitForProbe({ kind: "startup", path: "/ok", port: 8080 }, port, container)).passed,
    ).toBe(true);
    const stopped = await container.stop(5);
    expect(stopped).toMatchObject({ code: 0, signal: null, killed: false });
    expect(stopped.seconds).toBeLessThan(5);
    expect(container.output).toContain("SIGTERM: closing");
  });

  it("stop() kills a workload that ignores SIGTERM once the grace period is over", async () => {
    const container = await start({
      command: ["node", "workload.mjs", "stubborn"],
      env: {},
      overrides: {},
    });
    while (!container.output.includes("up"))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = await container.stop(1);
    expect(stopped).toMatchObject({ code: null, signal: "SIGKILL", killed: true });
    expect(stopped.seconds).toBeGreaterThanOrEqual(1);
    expect(stopped.seconds).toBeLessThan(3);
    expect(container.output).toContain("ignoring SIGTERM");
  });

  it("fails to start a program that does not exist, naming it", async () => {
    await expect(
      start({ command: ["/nonexistent/program"], env: {}, overrides: {} }),
    ).rejects.toThrow(/workload: could not start \/nonexistent\/program .*ENOENT/);
  });

  it.each(["exit", "signal"])(
    "leaves no workload behind when the process that started it ends by %s",
    async (how) => {
      const starter = spawn(
        process.execPath,
        ["--import", "tsx", join(__dirname, "fixtures", "starter.ts"), how],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const [line] = (await once(createInterface({ input: starter.stdout! }), "line")) as [string];
      const pid = Number(line);
      expect(alive(pid)).toBe(true);
      if (how === "signal") starter.kill("SIGTERM");
      await once(starter, "exit");
      const deadline = Date.now() + 3000;
      while (alive(pid) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(alive(pid)).toBe(false);
    },
  );
});
