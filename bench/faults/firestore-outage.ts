/**
 * The Firestore emulator unreachable for 10 s while events flow: the worker reaches
 * Firestore through a proxy (tcp-proxy.ts) that resets every connection while "down". The
 * processed-record transaction cannot run, handlers fail and nack, Pub/Sub redelivers with
 * the subscription's backoff, and when Firestore is back the backlog drains: every event
 * applied once, and the worker process never exits.
 */
import { waitForApplied } from "../support/ledger";
import { publishAtRate, shareEvent } from "../support/events";
import { TcpProxy } from "../support/tcp-proxy";
import { provisionWorker, reckon, sleep, Supervisor, type Scenario } from "./scenario";

export const firestoreOutage: Scenario = {
  name: "firestore-outage",
  title: "Firestore unreachable for 10 s",
  inSmoke: false,
  async run(ctx, project) {
    const perSecond = ctx.smoke ? 50 : 150;
    const seconds = ctx.smoke ? 15 : 25;
    const downAfterMs = 5000;
    const downForMs = 10_000;
    const proxy = await TcpProxy.start(ctx.emulators.firestoreHost);
    await provisionWorker(ctx, project);
    const workers = new Supervisor(project, { FIRESTORE_EMULATOR_HOST: proxy.host });
    try {
      await workers.current.ready;
      const flowing = publishAtRate(project.pubsub, perSecond, seconds * 1000, () => shareEvent());
      await sleep(downAfterMs);
      const handledBefore = workers.total("handled");
      proxy.setDown(true);
      await sleep(downForMs);
      const handledDuring = workers.total("handled") - handledBefore;
      proxy.setDown(false);
      const upAt = performance.now();
      const { confirmed, failed } = await flowing;
      await waitForApplied(project.firestore, confirmed.length, {
        timeoutMs: 300_000,
        say: ctx.say,
      });
      const recoveredS = (performance.now() - upAt) / 1000;
      const retries = workers.total("retry");
      const { ledger, problems } = await reckon(project, workers, confirmed, failed);
      return {
        sent: confirmed.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary: `${handledDuring} handled during the outage, ${retries} attempts nacked; all applied ${recoveredS.toFixed(0)} s after Firestore came back; worker never exited`,
        problems,
        raw: {
          perSecond,
          seconds,
          downAfterMs,
          downForMs,
          handledDuring,
          nacked: retries,
          recoveredSeconds: recoveredS,
        },
      };
    } finally {
      await workers.stop();
      await proxy.stop();
    }
  },
};
