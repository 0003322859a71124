/**
 * The baseline gateway: a bare node:http server that publishes what it is sent with the raw
 * client, as a developer would write it without the gateway. POST /v1/events takes a binary
 * CloudEvent (ce-* headers, JSON body) and publishes the body as it came with the ce-*
 * headers as attributes, to viral-shares (the only topic the benchmarks send to): no
 * catalog, no schema check, no protobuf encoding. POST /v1/shares publishes one message per recipient.
 * It answers 202 once Pub/Sub has the message, as the gateway does.
 *
 * It batches with the client's timer at 1 ms (100 messages), as a developer tuning the raw
 * client would: with the default 10 ms timer it would be slower than it needs to be, and the
 * comparison would flatter the gateway. (The runtime's publisher sends at once when nothing
 * is in flight, which the client offers no setting for.) Environment: PUBSUB_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { PubSub, type Topic } from "@google-cloud/pubsub";
import { PUBLISH_BATCHING } from "../../handlers/runtime/publisher";
import { announceReady } from "./children";
import { exitWithParent } from "./recorder";

process.env["METADATA_SERVER_DETECTION"] = "none";
exitWithParent();

const pubsub = new PubSub({
  projectId: process.env["GOOGLE_CLOUD_PROJECT"]!,
  apiEndpoint: process.env["PUBSUB_EMULATOR_HOST"]!,
  emulatorMode: true,
});
const shares: Topic = pubsub.topic("viral-shares", { batching: PUBLISH_BATCHING });

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function publishEvent(request: IncomingMessage): Promise<{ id: string }> {
  const data = await body(request);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (name.startsWith("ce-") && typeof value === "string") attributes[name] = value;
  attributes["ce-id"] ??= randomUUID();
  attributes["content-type"] = "application/json";
  await shares.publishMessage({ data, attributes });
  return { id: attributes["ce-id"] };
}

async function publishShares(request: IncomingMessage): Promise<{ invitations: number }> {
  const share = JSON.parse((await body(request)).toString()) as {
    senderUserId: string;
    cardId: string;
    recipients: { channel: string; recipient: string }[];
  };
  const correlationId = randomUUID();
  await Promise.all(
    share.recipients.map((recipient) => {
      const id = randomUUID();
      const data = Buffer.from(
        JSON.stringify({
          invitationId: randomUUID(),
          senderUserId: share.senderUserId,
          cardId: share.cardId,
          ...recipient,
        }),
      );
      return shares.publishMessage({
        data,
        attributes: {
          "ce-id": id,
          "ce-type": "com.eventline.share.requested",
          "ce-channel": recipient.channel,
          "ce-correlationid": correlationId,
        },
      });
    }),
  );
  return { invitations: share.recipients.length };
}

const server = createServer((request, response) => {
  const route =
    request.url === "/v1/events"
      ? publishEvent
      : request.url === "/v1/shares"
        ? publishShares
        : undefined;
  if (request.method !== "POST" || route === undefined) {
    response.writeHead(404).end();
    return;
  }
  route(request).then(
    (answer) => {
      const text = JSON.stringify(answer);
      response
        .writeHead(202, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
        })
        .end(text);
    },
    (err: unknown) => response.writeHead(503, { "content-type": "text/plain" }).end(String(err)),
  );
});
server.keepAliveTimeout = 5_000;
server.listen(0, "127.0.0.1", () =>
  announceReady({ port: (server.address() as AddressInfo).port, pid: process.pid }),
);

process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void pubsub.close().finally(() => process.exit(0)));
});
