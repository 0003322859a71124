/**
 * What `eventline cost` must assume because neither the declaration nor the program says it.
 * Each is printed with the estimate, so a reader sees what the numbers rest on.
 */
export const costAssumptions = {
  /** One processed record (`consumers/{c}/processed/{key}`): its name, `expireAt`, an empty outbox, index entries. */
  processedRecordBytes: 200,
  /**
   * What one event costs the event store per byte of message: the raw envelope, the payload as
   * a map, and the entries of its single-field and four composite indexes.
   */
  eventStoreBytesPerMessageByte: 3,
  /** An archiver's time per event: one create() in a BulkWriter batch. */
  archiverMs: 20,
  /** The gateway's and the tracker's time per request: checks, then one publish. */
  edgeServiceMs: 20,
  /** The handler image, compressed, and how many of its versions the registry keeps. */
  imageGiB: 0.25,
  imagesKept: 10,
} as const;

export function describeAssumptions(): string[] {
  const a = costAssumptions;
  return [
    `a processed record takes ${a.processedRecordBytes} bytes; an event in the event store ${a.eventStoreBytesPerMessageByte}× its message size (envelope, payload map, indexes)`,
    `an archiver works ${a.archiverMs} ms per event; the gateway and the tracker ${a.edgeServiceMs} ms per request`,
    `the registry keeps ${a.imagesKept} versions of a ${a.imageGiB} GiB image`,
    "storage that only grows (the event store, what handlers add) is priced for one month's growth; it adds as much again every month",
    "Secret Manager access operations are not counted: workloads read a secret when they start",
  ];
}
