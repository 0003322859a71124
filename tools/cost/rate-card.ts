/**
 * The rate card `eventline cost` prices with: a dated, versioned JSON file in this directory
 * (`rate-card-<yyyy-mm>.json`) that names the public pricing page of every service it covers.
 * Prices change; a new card is a new file, so an estimate always says which card it used and
 * an old estimate can be redone with its own card.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface RateCard {
  version: string;
  /** When the prices were read from the sources. */
  date: string;
  currency: string;
  /** Which region's list prices these are. */
  region: string;
  /** Hours in a billing month, as Google's calculators count them (730). */
  hoursPerMonth: number;
  /** The public pricing page of each service. */
  sources: Record<keyof Prices, string>;
  /** What the estimate leaves out or assumes, in a sentence each. */
  notes: string[];
  pubsub: { throughputPerTiB: number; minimumBytesPerRequest: number; storagePerGiBMonth: number };
  cloudRun: {
    vcpuSecond: number;
    gibSecond: number;
    requestsPerMillion: number;
    idleVcpuSecond: number;
    idleGibSecond: number;
  };
  gkeAutopilot: {
    vcpuHour: number;
    gibHour: number;
    clusterHour: number;
    cpuIncrement: number;
    minGibPerVcpu: number;
  };
  firestore: {
    readsPer100k: number;
    writesPer100k: number;
    deletesPer100k: number;
    storagePerGiBMonth: number;
  };
  monitoring: { alertConditionMonth: number; timeSeriesReturnedPerMillion: number };
  artifactRegistry: { storagePerGiBMonth: number; freeGiB: number };
  secretManager: { activeVersionMonth: number; accessPer10k: number };
}

type Prices = Pick<
  RateCard,
  | "pubsub"
  | "cloudRun"
  | "gkeAutopilot"
  | "firestore"
  | "monitoring"
  | "artifactRegistry"
  | "secretManager"
>;

/** The price keys every card must give, per service: what the estimate reads. */
const requiredPrices: { [S in keyof Prices]: readonly (keyof Prices[S])[] } = {
  pubsub: ["throughputPerTiB", "minimumBytesPerRequest", "storagePerGiBMonth"],
  cloudRun: ["vcpuSecond", "gibSecond", "requestsPerMillion", "idleVcpuSecond", "idleGibSecond"],
  gkeAutopilot: ["vcpuHour", "gibHour", "clusterHour", "cpuIncrement", "minGibPerVcpu"],
  firestore: ["readsPer100k", "writesPer100k", "deletesPer100k", "storagePerGiBMonth"],
  monitoring: ["alertConditionMonth", "timeSeriesReturnedPerMillion"],
  artifactRegistry: ["storagePerGiBMonth", "freeGiB"],
  secretManager: ["activeVersionMonth", "accessPer10k"],
};

/** A rate card that cannot be used; the message names the file and the key. */
export class RateCardError extends Error {
  override readonly name = "RateCardError";
}

const RATE_CARD_DIRECTORY = __dirname;
const cardFile = /^rate-card-(\d{4}-\d{2})\.json$/;

/** The newest card in tools/cost/ (by the year and month in its name). */
export function latestRateCardPath(directory: string = RATE_CARD_DIRECTORY): string {
  const cards = readdirSync(directory)
    .filter((name) => cardFile.test(name))
    .sort();
  const newest = cards.at(-1);
  if (newest === undefined) throw new RateCardError(`no rate-card-<yyyy-mm>.json in ${directory}`);
  return join(directory, newest);
}

/** Reads and checks a rate card: every price present, a number ≥ 0, every service with a source. */
export function loadRateCard(path: string = latestRateCardPath()): RateCard {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new RateCardError(
      `--rate-card ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return checkRateCard(parsed, path);
}

export function checkRateCard(parsed: unknown, path: string): RateCard {
  const problems: string[] = [];
  const card = (parsed ?? {}) as Record<string, unknown>;
  for (const key of ["version", "date", "currency", "region"])
    if (typeof card[key] !== "string" || card[key] === "") problems.push(`${key} (a string)`);
  if (typeof card["date"] === "string" && !/^\d{4}-\d{2}-\d{2}$/.test(card["date"]))
    problems.push("date (yyyy-mm-dd)");
  if (!(typeof card["hoursPerMonth"] === "number" && card["hoursPerMonth"] > 0))
    problems.push("hoursPerMonth (a positive number)");
  if (!Array.isArray(card["notes"])) problems.push("notes (a list of sentences)");
  const sources = (card["sources"] ?? {}) as Record<string, unknown>;
  for (const [service, keys] of Object.entries(requiredPrices)) {
    const source = sources[service];
    if (typeof source !== "string" || !source.startsWith("https://"))
      problems.push(`sources.${service} (the https:// address of its pricing page)`);
    const prices = (card[service] ?? {}) as Record<string, unknown>;
    for (const key of keys as readonly string[]) {
      const value = prices[key];
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
        problems.push(`${service}.${key} (a number ≥ 0)`);
    }
  }
  if (problems.length > 0)
    throw new RateCardError(`rate card ${path} lacks or misstates: ${problems.join(", ")}`);
  return parsed as RateCard;
}
