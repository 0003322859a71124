/**
 * The Pub/Sub emulator restarted mid-run (stopped and started again on its port, as a
 * supervisor would) while events are posted to the gateway at a steady rate. The emulator
 * keeps everything in memory, so a restart loses its topics, subscriptions and every message
 * not yet acked; the harness provisions the declaration again as soon as it answers (as
 * `npm start` does on start; in the cloud, Pub/Sub is durable and nothing needs recreating).
 *
 * What is measured: events the gateway accepted before the restart and never applied (lost
 * with the emulator's memory: an emulator limit, reported, not a runtime failure), requests
 * refused while it was down, whether the gateway and the worker reconnect by themselves (a
 * worker whose subscription vanished exits and is restarted, as its pod would be), and that
 * nothing accepted after the restart is lost and nothing is applied twice.
 */
import { randomUUID } from "node:crypto";
import { appliedCounts, appliedSoFar, ledgerOf } from "../support/ledger";
import { shareBody, shareHeaders, startGatewayChild } from "../support/gateways";
import { openLoop } from "../support/http-load";
import { now } from "../support/recorder";
import { provisionWorker, sleep, Supervisor, type Scenario } from "./scenario";

export const pubsubRestart: Scenario = {
  name: "pubsub-restart",
  title: "Pub/Sub emulator restarted mid-run",
  passes:
    "0 lost of what the gateway accepted after the restart (what the emulator's memory took is reported), 0 applied twice, checks pass",
  inSmoke: false,
  async run(ctx, project) {
    const perSecond = 100;
    const seconds = ctx.smoke ? 12 : 24;
    const restartAfterMs = ctx.smoke ? 4000 : 8000;
    await provisionWorker(ctx, project);
    const gateway = await startGatewayChild(project, "eventline");
    const workers = new Supervisor(project);
    try {
      await workers.current.ready;
      const loading = openLoop(gateway.url, perSecond * seconds, perSecond, () => {
        const id = randomUUID();
        return { id, path: "/v1/events", headers: shareHeaders(id), body: shareBody(randomUUID()) };
      });
      await sleep(restartAfterMs);
      const restartStart = now();
      const downMs = await ctx.emulators.restartPubSub();
      await provisionWorker(ctx, project);
      const restartEnd = now();
      const load = await loading;
      // Wait until nothing more arrives: what the restart lost never will.
      let applied = -1;
      for (let still = 0; still < 15 && applied < load.accepted.length;) {
        const next = await appliedSoFar(project.firestore);
        still = next === applied ? still + 1 : 0;
        applied = next;
        await sleep(1000);
      }
      await workers.stop();
      const when = (id: string): "before" | "during" | "after" => {
        const at = load.answeredAt.get(id)!;
        return at < restartStart ? "before" : at <= restartEnd ? "during" : "after";
      };
      const ledger = await ledgerOf(project.firestore, load.accepted);
      const counts = await appliedCounts(project.firestore);
      const lostBy = { before: 0, during: 0, after: 0 };
      const acceptedBy = { before: 0, during: 0, after: 0 };
      for (const id of load.accepted) {
        acceptedBy[when(id)]++;
        if ((counts.get(id) ?? 0) === 0) lostBy[when(id)]++;
      }
      const refused = Object.entries(load.statuses)
        .filter(([status]) => !status.startsWith("2"))
        .map(([status, n]) => `${n}× ${status === "0" ? "no answer" : status}`);
      const problems: string[] = [];
      if (ledger.duplicatesApplied > 0)
        problems.push(`${ledger.duplicatesApplied} applications beyond the first`);
      if (lostBy.after > 0)
        problems.push(`${lostBy.after} events accepted after the restart were lost`);
      return {
        sent: load.accepted.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary:
          `emulator down ${(downMs / 1000).toFixed(1)} s + re-provisioned; lost with its memory: ${lostBy.before} of ${acceptedBy.before} accepted before, ${lostBy.during} of ${acceptedBy.during} during; ` +
          `${lostBy.after} of ${acceptedBy.after} after; refused meanwhile: ${refused.join(", ") || "none"}; worker exits: ${workers.unexpectedExits.length} (restarted)`,
        problems,
        raw: {
          perSecond,
          seconds,
          restartAfterMs,
          downMs,
          acceptedBy,
          lostBy,
          statuses: load.statuses,
          workerExits: workers.unexpectedExits,
        },
      };
    } finally {
      await workers.stop();
      await gateway.child.stop();
    }
  },
};
