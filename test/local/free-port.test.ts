import { createServer } from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
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
});
