/** The local stack's deployed declaration: written where `eventline plan --stack local` reads it. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { parseDeclarationRecord } from "../../infra/model/declaration-record";
import { planChanges } from "../../infra/model/plan";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import {
  localDeclarationFile,
  writeLocalDeclaration,
} from "../../tools/local/deployed-declaration";
import { LOCAL_STACK, STATE_FILE } from "../../tools/local/settings";

const dir = mkdtempSync(join(tmpdir(), "eventline-declaration-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the local deployed declaration", () => {
  it("lives beside the running environment's state file, in .eventline/", () => {
    expect(localDeclarationFile()).toBe(join(STATE_FILE, "..", "declaration.json"));
    expect(localDeclarationFile(join(dir, "dev.json"))).toBe(join(dir, "declaration.json"));
  });

  it("is written whole and reads back as the declaration provisioned, with nothing to plan", () => {
    const resolved = resolveSystem(system, LOCAL_STACK);
    const file = localDeclarationFile(join(dir, "sub", "dev.json"));
    writeLocalDeclaration(resolved, file);
    writeLocalDeclaration(resolved, file);
    expect(readdirSync(join(dir, "sub"))).toEqual(["declaration.json"]);
    const record = parseDeclarationRecord(readFileSync(file, "utf8"), file);
    expect(record).toEqual(declarationOf(resolved));
    expect(planChanges(declarationOf(resolved), record).changes).toEqual([]);
  });
});
