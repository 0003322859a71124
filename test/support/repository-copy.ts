/** A scratch copy of the repository, for tools that edit it (`eventline new`). */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const REPO = join(__dirname, "..", "..");

/** The repository's files (tracked, and new ones not ignored), copied, with its node_modules linked. */
export function copyOfRepository(): string {
  const root = mkdtempSync(join(tmpdir(), "eventline-copy-"));
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: REPO, encoding: "utf8" },
  )
    .split("\0")
    // node_modules is linked below (a symlinked one is not ignored as a folder is).
    .filter((file) => file !== "" && file !== "node_modules");
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(REPO, file), join(root, file));
  }
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  return root;
}
