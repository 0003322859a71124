/**
 * The two front doors the HTTP benchmarks compare, each in its own process: the Eventline
 * gateway (gateway-process.ts) and the bare baseline server (baseline-gateway.ts); and the
 * request they are sent: a binary-mode CloudEvent, the viral-sharing share.requested on the email
 * channel, which both publish to viral-shares.
 */
import { startChild, type Child } from "./children";
import type { ResolvedProducer } from "../../infra/model/types";
import type { BenchProject } from "./emulators";

export type GatewayKind = "eventline" | "baseline";

export interface RunningGatewayChild {
  child: Child;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

export async function startGatewayChild(
  project: BenchProject,
  kind: GatewayKind,
  /** More environment for the process (the tracing benchmark's exporter). Default none. */
  extra: Record<string, string> = {},
): Promise<RunningGatewayChild> {
  const child = startChild({
    name: kind === "eventline" ? "gateway" : "baseline gateway",
    script:
      kind === "eventline"
        ? "bench/support/gateway-process.ts"
        : "bench/support/baseline-gateway.ts",
    env: project.env(extra),
  });
  const { port } = (await child.ready) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}

/** The ce-* headers of a share.requested in binary mode; `id` fixes its event id. */
/**
 * The benchmarks' own producer, admitted without a token: it posts share requests as events
 * (share.requested straight to /v1/events), which drives the channel workers' path with one
 * request per message and an id the benchmark chose (bench/README.md, gateway). No declared
 * producer may do that; the gateways under benchmark admit it besides the declared ones.
 */
export const BENCH_PRODUCER: ResolvedProducer = {
  name: "bench",
  publishes: ["com.eventline.share.requested"],
  sources: ["//eventline/bench"],
  shares: true,
};

export function shareHeaders(id?: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-type": "com.eventline.share.requested",
    "ce-source": "//eventline/bench",
    ...(id !== undefined && { "ce-id": id }),
  };
}

/** The share.requested payload in proto3 JSON, for the email channel. */
export function shareBody(invitationId = "00000000-0000-4000-8000-000000000000"): string {
  return JSON.stringify({
    invitationId,
    senderUserId: "bench-sender",
    cardId: "bench-card",
    channel: "email",
    recipient: "friend@example.com",
    shareMetadata: { behaviour: "ok" },
  });
}
