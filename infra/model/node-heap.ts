/**
 * The V8 heap cap a Node container gets for its memory limit. Left alone, V8 sizes its heap
 * from the node's memory rather than the container's and collects late, so a worker under a
 * backlog grows past its limit before it collects. Capped at 0.625 of the limit, a worker
 * goes through a large backlog at full pace and stays under its pod's memory limit
 * (bench/README.md, memory).
 */
import { parseQuantity } from "./quantity";

/** Share of the memory limit given to V8's heap; Node's own and the clients' native memory take the rest. */
const HEAP_SHARE_OF_LIMIT = 0.625;

/** The heap cap in MB (for `--max-old-space-size`) for a Kubernetes memory limit such as "256Mi". */
export function heapCapMb(memoryLimit: string): number {
  const bytes = parseQuantity(memoryLimit);
  if (bytes === undefined)
    throw new Error(
      `memory limit "${memoryLimit}" is not a Kubernetes quantity; write e.g. "256Mi"`,
    );
  return Math.floor((bytes / 2 ** 20) * HEAP_SHARE_OF_LIMIT);
}
