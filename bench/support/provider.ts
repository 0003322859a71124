/**
 * A fake outside provider (an SMS or email API) for the provider-down scenario, served by the
 * driver on loopback: POST / with `{ key }` answers 200 and counts the call under its
 * idempotency key, or 503 while the provider is "down". Counting by key is what shows that
 * a retried call reached the provider more than once but could only be sent once.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class FakeProvider {
  /** Successful calls per idempotency key. */
  readonly calls = new Map<string, number>();
  /** Calls refused while down. */
  refused = 0;
  /** `http://127.0.0.1:<port>/`, once started. */
  url = "";
  private down = false;
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (this.down) {
        this.refused++;
        response.writeHead(503).end();
        return;
      }
      const { key = "" } = JSON.parse(Buffer.concat(chunks).toString() || "{}") as { key?: string };
      this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"sent"}');
    });
  });

  static async start(): Promise<FakeProvider> {
    const provider = new FakeProvider();
    await new Promise<void>((resolve) => provider.server.listen(0, "127.0.0.1", resolve));
    provider.url = `http://127.0.0.1:${(provider.server.address() as AddressInfo).port}/`;
    return provider;
  }

  setDown(down: boolean): void {
    this.down = down;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
