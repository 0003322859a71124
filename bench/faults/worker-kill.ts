/**
 * A worker killed with SIGKILL every few seconds while 10 000 events flow in at a steady
 * rate, restarted at once each time. A killed worker takes its leases with it: what it held
 * (handled but unacked, in flight, and whatever the emulator had streamed to it) comes back
 * when those leases expire. Measured on the emulator (bench/README.md): most after the
 * subscriber's minAckDeadline (60 s), the rest in later waves, the last up to ~5 minutes
 * after the kill with the email-worker's 600 s ack deadline; so the scenario waits up to
 * that deadline for the stragglers before counting anything as lost. An event whose
 * transaction committed before the kill but whose ack never left is redelivered and found in
 * the processed records: acked without running again.
 */
import { benchSystem } from "../support/emulators";
import { WORKER_CONSUMER, publishAtRate, shareEvent } from "../support/events";
import { waitForApplied } from "../support/ledger";
import { provisionWorker, reckon, sleep, Supervisor, type Scenario } from "./scenario";

export const workerKill: Scenario = {
  name: "worker-kill",
  title: "worker SIGKILLed every 4 s while 10 000 events flow",
  inSmoke: false,
  async run(ctx, project) {
    const events = ctx.smoke ? 1000 : 10_000;
    const perSecond = ctx.smoke ? 200 : 400;
    const killEveryMs = 4000;
    await provisionWorker(ctx, project);
    const workers = new Supervisor(project);
    try {
      await workers.current.ready;
      const flowing = publishAtRate(project.pubsub, perSecond, (events / perSecond) * 1000, () => shareEvent());
      let kills = 0;
      let flowed = false;
      void flowing.finally(() => (flowed = true));
      while (!flowed) {
        await sleep(killEveryMs);
        if (flowed) break;
        await workers.crash();
        kills++;
      }
      const lastKill = performance.now();
      const { confirmed, failed } = await flowing;
      // Leases of killed workers run out by the subscription's ack deadline at the latest.
      const ackDeadlineMs = benchSystem.consumers.find((c) => c.name === WORKER_CONSUMER)!.ackDeadlineSeconds * 1000;
      const applied = await waitForApplied(project.firestore, confirmed.length, ackDeadlineMs + 120_000, ackDeadlineMs + 30_000);
      const recoveryS = (performance.now() - lastKill) / 1000;
      const { ledger, problems } = await reckon(project, workers, confirmed, failed);
      const skipped = workers.total("duplicate");
      return {
        sent: confirmed.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary: `${kills} SIGKILLs at ${perSecond} events/s; ${skipped}+ redelivered after commit, acked without re-running; all applied ${recoveryS.toFixed(0)} s after the last kill`,
        problems,
        raw: { events, perSecond, killEveryMs, kills, appliedAtEnd: applied, recoverySeconds: recoveryS, duplicateDeliveriesSkipped: skipped, workers: workers.started.length },
      };
    } finally {
      await workers.stop();
    }
  },
};
