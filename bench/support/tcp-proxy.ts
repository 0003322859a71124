/**
 * A loopback TCP proxy between the worker and the Firestore emulator, for the outage
 * scenario: while "down" it resets every open connection and every new one, which is what
 * an unreachable Firestore looks like to the client (UNAVAILABLE), without touching the
 * emulator, whose in-memory data (processed records, applied documents) the verdict needs.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export class TcpProxy {
  /** `127.0.0.1:<port>`, to use as the emulator host, once started. */
  host = "";
  private down = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(target: string) {
    const [targetHost, targetPort] = target.split(":") as [string, string];
    this.server = createServer((client) => {
      if (this.down) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(Number(targetPort), targetHost);
      this.track(client);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.once("error", close).once("close", close);
      upstream.once("error", close).once("close", close);
    });
  }

  /** A proxy on a free loopback port to `target` (`host:port`). */
  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.host = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Down: every connection is reset, now and until {@link setDown}(false). */
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const socket of this.sockets) socket.resetAndDestroy();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }
}
