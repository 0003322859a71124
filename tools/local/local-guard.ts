/**
 * What keeps a page open in the developer's browser from driving the local server: a request
 * must name this server in its Host header (a DNS-rebinding page names its own), must come from
 * this server's own origin when it says where it comes from (a cross-site form or fetch says so),
 * and a request that changes something must say it sends JSON, which a cross-site form cannot
 * without the browser asking first. The emulator's pushes and the CLI pass all three.
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "../../handlers/gateway/http";

const CHANGES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const JSON_TYPES = new Set(["application/json", "application/cloudevents+json"]);

/** The guard of the local server on `port`. @throws HttpError 403 or 415 naming what is wrong. */
export function localGuard(port: number): (request: IncomingMessage) => void {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const origins = new Set([...hosts].map((host) => `http://${host}`));
  return (request) => {
    const host = (request.headers.host ?? "").toLowerCase();
    if (!hosts.has(host))
      throw new HttpError(
        403,
        `Host ${host || "(none)"} is not this server; use http://127.0.0.1:${port}`,
        {},
        "foreign-host",
      );
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase()))
      throw new HttpError(
        403,
        `requests from ${origin} are refused: the local server takes requests from its own pages and from tools only`,
        {},
        "cross-origin",
      );
    if (CHANGES.has(request.method ?? "")) {
      const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (!JSON_TYPES.has(type))
        throw new HttpError(
          415,
          `${request.method} needs a JSON body (content-type application/json)`,
          {},
          "json-required",
        );
    }
  };
}
