import { createServer } from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { freePort } from "../../tools/local/emulators";

describe("freePort", () => {
  it("never hands out one port twice in a process, so workloads started side by side do not share one", async () => {
    // The OS picks from some 28 000 ephemeral ports: 300 picks repeat one more often than not.
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
});
