/**
 * The heavy modules the commands load only when they run: the Google clients take about
 * 0.7 s to load and the AsyncAPI parser 0.5 s, which `--help`, argument errors and the
 * catalog do not need. Loaded with CommonJS `require`, the one hook the bin (tsx/cjs)
 * registers; the type-only imports below are erased, so they load nothing.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Access from "../catalog/access";
import type * as AsyncApi from "../catalog/asyncapi";
import type * as DeadLetters from "../local/dead-letters";
import type * as EventFeed from "../local/event-feed";
import type * as Logging from "../local/logging";
import type * as Start from "../local/start";
import type * as Codec from "../../handlers/runtime/codec";
import type * as Evaluate from "../../infra/evaluate";
import type * as Metrics from "../../handlers/runtime/metrics";
import type * as Publisher from "../../handlers/runtime/publisher";
import type * as WithEmulators from "./with-emulators";
import type * as VerifyReport from "../verify/report";
import type * as Verify from "../verify/verify";
import type * as Scaffold from "../scaffold/new-consumer";
import type * as ScaffoldStack from "../scaffold/new-stack";
import type * as ScaffoldEvent from "../scaffold/new-event";
import type * as RateCard from "../cost/rate-card";
import type * as CostEstimate from "../cost/estimate";
import type * as CostReport from "../cost/report";

export const load = {
  asyncapi: () => require("../catalog/asyncapi") as typeof AsyncApi,
  access: () => require("../catalog/access") as typeof Access,
  evaluate: () => require("../../infra/evaluate") as typeof Evaluate,
  withEmulators: () => require("./with-emulators") as typeof WithEmulators,
  deadLetters: () => require("../local/dead-letters") as typeof DeadLetters,
  eventFeed: () => require("../local/event-feed") as typeof EventFeed,
  logging: () => require("../local/logging") as typeof Logging,
  start: () => require("../local/start") as typeof Start,
  codec: () => require("../../handlers/runtime/codec") as typeof Codec,
  metrics: () => require("../../handlers/runtime/metrics") as typeof Metrics,
  publisher: () => require("../../handlers/runtime/publisher") as typeof Publisher,
  verify: () => require("../verify/verify") as typeof Verify,
  verifyReport: () => require("../verify/report") as typeof VerifyReport,
  scaffold: () => require("../scaffold/new-consumer") as typeof Scaffold,
  scaffoldStack: () => require("../scaffold/new-stack") as typeof ScaffoldStack,
  scaffoldEvent: () => require("../scaffold/new-event") as typeof ScaffoldEvent,
  rateCard: () => require("../cost/rate-card") as typeof RateCard,
  costEstimate: () => require("../cost/estimate") as typeof CostEstimate,
  costReport: () => require("../cost/report") as typeof CostReport,
};
