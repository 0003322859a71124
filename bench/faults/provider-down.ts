/**
 * An outside provider down for 10 s while events flow: every event is sent through the
 * provider (ctx.breaker("provider"), the runtime's default policies: 2 retries, breaker
 * opening after 5 consecutive failures, half-open after 10 s). While it is down the calls
 * fail, the circuit opens and events are nacked, then redelivered with the subscription's
 * backoff; when it is back the half-open trial succeeds, the circuit closes and every event
 * is applied once. The provider counts calls per idempotency key: a key called twice is a
 * retry the provider could deduplicate, not a second message.
 */
import { PROVIDER_URL_VARIABLE } from "../support/bench-handlers";
import { benchSystem } from "../support/emulators";
import { WORKER_CONSUMER, publishAtRate, shareEvent } from "../support/events";
import { ledgerOf, readParked, waitForApplied } from "../support/ledger";
import { FakeProvider } from "../support/provider";
import { exactlyOnceProblems, sleep, Supervisor, type Scenario } from "./scenario";

export const providerDown: Scenario = {
  name: "provider-down",
  title: "outside provider down for 10 s (circuit breaker)",
  // The declared backoff makes the retries take most of a minute: too long for a smoke run.
  inSmoke: false,
  async run(ctx, project) {
    const perSecond = ctx.smoke ? 40 : 100;
    const seconds = ctx.smoke ? 12 : 30;
    const downAfterMs = 3000;
    const downForMs = 10_000;
    const provider = await FakeProvider.start();
    // The declared backoff always: the retries have to outlast the outage and the open circuit.
    await project.provision([WORKER_CONSUMER]);
    const workers = new Supervisor(
      project,
      { [PROVIDER_URL_VARIABLE]: provider.url, LOG_LEVEL: "warn" },
      (line) => line.includes('"outsideCall"'),
    );
    try {
      await workers.current.ready;
      const flowing = publishAtRate(project.pubsub, perSecond, seconds * 1000, () => shareEvent());
      await sleep(downAfterMs);
      provider.setDown(true);
      await sleep(downForMs);
      provider.setDown(false);
      const { confirmed, failed } = await flowing;
      await waitForApplied(project.firestore, confirmed.length, {
        timeoutMs: 240_000,
        say: ctx.say,
      });
      const retries = workers.total("retry");
      await workers.stop();
      const parking = benchSystem.consumers.find(
        (c) => c.name === WORKER_CONSUMER,
      )!.parkingSubscription;
      const { parked } = await readParked(project.pubsub, parking, 0, 10_000, undefined, 3000);
      const ledger = await ledgerOf(project.firestore, confirmed, new Set(parked.keys()));
      const states = workers.lines
        .map((line) => (JSON.parse(line) as { breaker?: string }).breaker)
        .filter((s): s is string => s !== undefined);
      const problems = exactlyOnceProblems(ledger);
      if (parked.size > 0)
        problems.push(
          `${parked.size} events dead-lettered (${[...new Set([...parked.values()].map((p) => p.reason))].join(", ")}): their retries ran out while the provider was unavailable`,
        );
      if (failed > 0) problems.push(`${failed} publishes failed`);
      if (!states.includes("open")) problems.push("the circuit never opened");
      if (states.at(-1) !== "closed")
        problems.push(`the circuit ended ${states.at(-1) ?? "never changed"}, not closed`);
      const keys = [...provider.calls.keys()].filter((key) => confirmed.includes(key)).length;
      const repeated = [...provider.calls.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
      if (keys !== confirmed.length)
        problems.push(`the provider got ${keys} of ${confirmed.length} events`);
      return {
        sent: confirmed.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: `${parked.size}`,
        summary: `circuit ${states.join(" → ")}; ${provider.refused} calls refused while down, ${retries} events nacked and redelivered; provider saw every key, ${repeated} repeated`,
        problems,
        raw: {
          perSecond,
          seconds,
          downAfterMs,
          downForMs,
          breakerStates: states,
          refused: provider.refused,
          nacked: retries,
          repeatedKeys: repeated,
        },
      };
    } finally {
      await workers.stop();
      await provider.stop();
    }
  },
};
