/**
 * The local stack's "deployed" declaration: the record of what `npm start` last provisioned into
 * the emulators (infra/declaration.ts), kept in .eventline/ beside the rest of the local state.
 * `eventline plan --stack local` compares the declaration with it, as the cloud stacks' plans
 * compare with their `declaration` stack output.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { declarationOf } from "../../infra/declaration";
import type { ResolvedSystem } from "../../infra/model/types";
import { STATE_FILE } from "./settings";

const FILE_NAME = "declaration.json";

/** Where the record lives: beside the running environment's state file (.eventline/dev.json). */
export function localDeclarationFile(stateFile: string = STATE_FILE): string {
  return join(dirname(stateFile), FILE_NAME);
}

/** Writes the record of `resolved` as provisioned; written whole, then renamed, so a reader never sees half. */
export function writeLocalDeclaration(resolved: ResolvedSystem, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  writeFileSync(partial, `${JSON.stringify(declarationOf(resolved), null, 2)}\n`);
  renameSync(partial, file);
}
