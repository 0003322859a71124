/**
 * A worker killed with SIGKILL every few seconds while 10 000 events flow in at a steady
 * rate, restarted at once each time. A killed worker takes its leases with it: what it held
 * (handled but unacked, in flight, and whatever Pub/Sub had streamed to it) comes back when
 * those leases expire, and an event whose transaction committed before the kill but whose
 * ack never left is found in the processed records on redelivery: acked without running again.
 *
 * The subscription is provisioned with 100 delivery attempts and no retry policy, not the
 * email-worker's declared 5 attempts and 10–600 s backoff, because of how the emulator treats
 * a killed subscriber (measured with the raw client, no Eventline code; bench/README.md):
 * it ignores flow control, so each new worker's stream is sent the whole backlog and each
 * kill strands all of it (in the cloud, about maxMessages), and every stranded message is
 * charged a delivery attempt. With the declared policies, messages past 5 attempts are
 * withheld and never forwarded to the dead-letter topic, and with any retry policy the
 * stranded messages stopped coming back at all. Without them all come back in 60 s waves
 * (the runtime's lease), so the scenario waits up to the 600 s ack deadline and two minutes
 * more for the last.
 */
import { benchSystem } from "../support/emulators";
import { WORKER_CONSUMER, publishAtRate, shareEvent } from "../support/events";
import { waitForApplied } from "../support/ledger";
import { reckon, sleep, Supervisor, type Scenario } from "./scenario";

/** Subscription settings for this scenario (see the file comment). */
const KILL_TOLERANT = { retry: "immediate", maxDeliveryAttempts: 100 } as const;

export const workerKill: Scenario = {
  name: "worker-kill",
  title: "worker SIGKILLed every 4 s while 10 000 events flow",
  inSmoke: false,
  async run(ctx, project) {
    const events = ctx.smoke ? 1000 : 10_000;
    const perSecond = ctx.smoke ? 200 : 400;
    const killEveryMs = 4000;
    await project.provision([WORKER_CONSUMER], KILL_TOLERANT);
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
      const sayWithWorker = (line: string): void => {
        const { received = 0, handled = 0, inFlight = 0 } = workers.current.latest ?? {};
        ctx.say(`${line}; the current worker received ${received}, handled ${handled}, holds ${inFlight} in flight`);
      };
      const applied = await waitForApplied(project.firestore, confirmed.length, { timeoutMs: ackDeadlineMs + 120_000, stallMs: ackDeadlineMs + 30_000, say: sayWithWorker });
      const recoveryS = (performance.now() - lastKill) / 1000;
      const { ledger, problems } = await reckon(project, workers, confirmed, failed);
      const skipped = workers.total("duplicate");
      return {
        sent: confirmed.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary: `${kills} SIGKILLs at ${perSecond} events/s; ${skipped}+ redelivered after commit, acked without re-running; ${
          applied >= confirmed.length ? "all" : `${applied} of ${confirmed.length}`
        } applied ${recoveryS.toFixed(0)} s after the last kill`,
        problems,
        raw: { events, perSecond, killEveryMs, kills, appliedAtEnd: applied, recoverySeconds: recoveryS, duplicateDeliveriesSkipped: skipped, workers: workers.started.length },
      };
    } finally {
      await workers.stop();
    }
  },
};
