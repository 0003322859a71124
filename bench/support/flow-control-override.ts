/**
 * A consumer's flow-control limit replaced the way a stack override would replace it
 * (`stacks.<stack>.consumers.<name>.gke.maxMessages`), for the benchmarks that run the
 * email-worker with the runtime's default instead of its declared 10, and for the sweep.
 */
import type { SystemSpec } from "../../infra/model/types";

/** `spec` with `consumer`'s `gke.maxMessages` on `stack` set to `maxMessages`; other overrides kept. */
export function withMaxMessages(
  spec: SystemSpec,
  stack: string,
  consumer: string,
  maxMessages: number,
): SystemSpec {
  const overrides = spec.stacks?.[stack] ?? {};
  const consumerOverrides = overrides.consumers?.[consumer] ?? {};
  return {
    ...spec,
    stacks: {
      ...spec.stacks,
      [stack]: {
        ...overrides,
        consumers: {
          ...overrides.consumers,
          [consumer]: { ...consumerOverrides, gke: { ...consumerOverrides.gke, maxMessages } },
        },
      },
    },
  };
}
