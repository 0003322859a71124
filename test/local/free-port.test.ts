import { createServer } from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { FREE_PORT_RANGE, freePort } from "../../tools/local/emulators";

describe("freePort", () => {
  it("never hands out one port twice in a process, so workloads started side by side do not share one", async () => {
    // 300 random picks from some 12 800 ports repeat one more often than not.
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("hands out a port that can be listened on", async () => {
    const server = createServer();
    server.listen(await freePort(), "127.0.0.1");
    await once(server, "listening");
    server.close();
  });

  it("hands out ports below those the OS gives to port-0 listeners and outgoing connections, which could take one before it is bound", async () => {
    const range = "/proc/sys/net/ipv4/ip_local_port_range";
    const firstEphemeral = existsSync(range)
      ? Number(readFileSync(range, "utf8").trim().split(/\s+/)[0])
      : 49_152;
    expect(FREE_PORT_RANGE.last).toBeLessThan(firstEphemeral);
    for (let i = 0; i < 50; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.first);
      expect(port).toBeLessThanOrEqual(FREE_PORT_RANGE.last);
    }
  });

  it("never hands out to one process a port another process was given, as the test files running side by side", async () => {
    // 300 picks each from some 12 800 ports: without the reservations between processes the
    // two lists share about 7 ports.
    const picks = `const { freePort } = require("./tools/local/emulators");
      (async () => { const ports = []; for (let i = 0; i < 300; i++) ports.push(await freePort());
      process.stdout.write(JSON.stringify(ports)); })();`;
    const run = () =>
      promisify(execFile)(process.execPath, ["--require", "tsx/cjs", "-e", picks], {
        cwd: join(__dirname, "../.."),
      }).then(({ stdout }) => JSON.parse(stdout) as number[]);
    const [first, second] = await Promise.all([run(), run()]);
    expect(first).toHaveLength(300);
    expect(second).toHaveLength(300);
    expect(first.filter((port) => second.includes(port))).toEqual([]);
  });
});
