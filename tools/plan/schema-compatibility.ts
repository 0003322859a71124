/**
 * Whether a topic's new Pub/Sub schema definition is compatible with the deployed one: buf
 * breaking with the WIRE_JSON rules, the same rules `npm run proto:breaking` holds proto/ to in CI
 * (proto/breaking.ts), run on the two rendered definitions. A producer or consumer still on the
 * old definition must read and write what the new one does, in binary and in JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeclarationRecord } from "../../infra/model/declaration-record";
import type { SchemaIncompatibility } from "../../infra/model/plan";

const BUF = join(__dirname, "..", "..", "node_modules", ".bin", "buf");
const RULES = JSON.stringify({ version: "v1", breaking: { use: ["WIRE_JSON"] } });
/** buf's exit code when it found breaking changes. */
const BREAKING = 100;

/** buf breaking's findings for `after` against `before` (two .proto texts); empty when compatible. */
export function definitionIncompatibilities(
  before: string,
  after: string,
): SchemaIncompatibility[] {
  const dir = mkdtempSync(join(tmpdir(), "eventline-schema-"));
  try {
    for (const [side, text] of [
      ["deployed", before],
      ["declared", after],
    ] as const) {
      mkdirSync(join(dir, side));
      writeFileSync(join(dir, side, "schema.proto"), text);
    }
    const run = spawnSync(
      BUF,
      [
        "breaking",
        "declared",
        "--against",
        "deployed",
        "--config",
        RULES,
        "--error-format",
        "json",
      ],
      { cwd: dir, encoding: "utf8", timeout: 60_000 },
    );
    if (run.error !== undefined)
      throw new Error(
        `cannot run buf (${run.error.message}) to check schema compatibility; npm ci installs it (@bufbuild/buf)`,
      );
    if (run.status === 0) return [];
    if (run.status !== BREAKING)
      throw new Error(
        `buf breaking failed (exit ${run.status}): ${run.stderr.trim() || run.stdout.trim()}`,
      );
    return run.stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { type: string; message: string })
      .map((finding) => ({
        rule: finding.type,
        message: finding.message.replace(/\s*See https?:\/\/\S+.*$/s, "").replace(/\.$/, ""),
      }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The findings of every topic whose definition differs between the two records, by topic. */
export function schemaIncompatibilities(
  deployed: DeclarationRecord,
  current: DeclarationRecord,
): Map<string, SchemaIncompatibility[]> {
  const before = new Map(deployed.topics.map((topic) => [topic.name, topic]));
  const found = new Map<string, SchemaIncompatibility[]>();
  for (const topic of current.topics) {
    const old = before.get(topic.name);
    if (
      old?.schemaDefinition === undefined ||
      topic.schemaDefinition === undefined ||
      old.schemaDefinition === topic.schemaDefinition
    )
      continue;
    found.set(
      topic.name,
      definitionIncompatibilities(old.schemaDefinition, topic.schemaDefinition),
    );
  }
  return found;
}
