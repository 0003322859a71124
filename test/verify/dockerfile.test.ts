import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { planDockerfile, UninterpretableDockerfileError } from "../../tools/verify/dockerfile";
import { buildImage } from "../../tools/verify/image";

const scratch: string[] = [];

afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A context directory holding `files` (path → content), and a work directory for builds. */
async function context(files: Record<string, string>): Promise<{ root: string; workDir: string }> {
  const root = await mkdtemp(join(tmpdir(), "eventline-verify-context-"));
  const workDir = await mkdtemp(join(tmpdir(), "eventline-verify-work-"));
  scratch.push(root, workDir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return { root, workDir };
}

describe("planDockerfile", () => {
  it("reads every ENV form, later values winning, with variables from earlier lines", () => {
    const plan = planDockerfile(
      [
        "FROM node:20-slim",
        'ENV A=1 B="two words" \\',
        "    C=three\\ words",
        "ENV LEGACY value with spaces",
        "ENV A=$B D=${A}x E=${MISSING:-fallback}",
        'CMD ["node", "main.js"]',
      ].join("\n"),
      "Dockerfile",
    );
    expect(plan.stages[0]!.env).toEqual({
      A: "two words",
      B: "two words",
      C: "three words",
      LEGACY: "value with spaces",
      D: "1x",
      E: "fallback",
    });
  });

  it("carries a stage's settings into a stage built FROM it, and builds only the stages the image needs", () => {
    const plan = planDockerfile(
      [
        "FROM node:20 AS unused",
        "FROM node:20 AS base",
        "ENV X=1",
        "WORKDIR /srv",
        "FROM base",
        'CMD ["node", "a.js"]',
      ].join("\n"),
      "Dockerfile",
    );
    expect(plan.stages[2]).toMatchObject({
      env: { X: "1" },
      workdir: "/srv",
      command: ["node", "a.js"],
      base: { stage: 1 },
    });
    expect(plan.needed).toEqual([1, 2]);
  });

  it("refuses a CMD in shell form, naming its line and the exec form to use", () => {
    expect(() => planDockerfile("FROM node:20\n\nCMD node main.js\n", "Dockerfile")).toThrow(
      /^Dockerfile:3: `CMD node main.js`: CMD is in shell form.*Fix: write it in exec form/,
    );
  });

  it("refuses a variable the base image would set, rather than expanding it to nothing", () => {
    expect(() =>
      planDockerfile('FROM node:20\nENV PATH=/app/bin:$PATH\nCMD ["node"]\n', "Dockerfile"),
    ).toThrow(/Dockerfile:2: .*\$PATH is not set by an earlier ENV of this stage/);
  });

  it("refuses COPY --from an image, which it cannot pull", () => {
    expect(() =>
      planDockerfile('FROM node:20\nCOPY --from=busybox /bin/sh /sh\nCMD ["node"]\n', "Dockerfile"),
    ).toThrow(/Dockerfile:2: .*names an image, not an earlier stage/);
  });
});

describe("buildImage on a scratch context", () => {
  it("fails on a RUN it cannot interpret, naming the instruction and its line", async () => {
    const { root, workDir } = await context({
      Dockerfile: [
        "FROM node:20-slim",
        "WORKDIR /app",
        "RUN apt-get update && apt-get install -y curl",
        'CMD ["node", "main.js"]',
      ].join("\n"),
    });
    const build = buildImage({ dockerfile: join(root, "Dockerfile"), context: root, workDir });
    await expect(build).rejects.toThrow(UninterpretableDockerfileError);
    await expect(build).rejects.toThrow(
      /^Dockerfile:3: `RUN apt-get update && apt-get install -y curl`: RUN apt-get update is a command verify cannot interpret/,
    );
    expect(await readdir(workDir)).toEqual([]);
  });

  it("fails on an instruction it does not interpret at all, naming it", async () => {
    const { root, workDir } = await context({
      Dockerfile:
        'FROM node:20-slim\nHEALTHCHECK CMD curl -f http://localhost/\nCMD ["node", "main.js"]\n',
    });
    await expect(
      buildImage({ dockerfile: join(root, "Dockerfile"), context: root, workDir }),
    ).rejects.toThrow(/^Dockerfile:2: .*HEALTHCHECK is an instruction verify cannot interpret/);
  });

  it("copies from the context what the Dockerfile's own ignore file keeps, with Docker's pattern rules", async () => {
    const { root, workDir } = await context({
      Dockerfile: [
        "FROM node:20-slim",
        "WORKDIR /app",
        "COPY src ./src",
        "COPY package.json ./",
        'CMD ["node", "src/main.js"]',
      ].join("\n"),
      "Dockerfile.dockerignore": [
        "*",
        "!src",
        "!package.json",
        "src/fixtures",
        "**/*.test.js",
      ].join("\n"),
      "package.json": "{}",
      "src/main.js": "console.log('main')",
      "src/lib/util.js": "module.exports = 1",
      "src/lib/util.test.js": "test()",
      "src/fixtures/big.json": "[]",
      "README.md": "not copied",
    });
    const image = await buildImage({
      dockerfile: join(root, "Dockerfile"),
      context: root,
      workDir,
    });
    const files = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
        .sort();
    expect(await files(image.appDir)).toEqual(["package.json", "src/lib/util.js", "src/main.js"]);
  });

  it("builds again when a file a COPY takes changes, and not when an ignored file does", async () => {
    const { root, workDir } = await context({
      Dockerfile: 'FROM node:20-slim\nWORKDIR /app\nCOPY main.js ./\nCMD ["node", "main.js"]\n',
      ".dockerignore": "notes.txt\n",
      "main.js": "1",
      "notes.txt": "a",
    });
    const options = { dockerfile: join(root, "Dockerfile"), context: root, workDir };
    const first = await buildImage(options);
    await writeFile(join(root, "notes.txt"), "b");
    expect(await buildImage(options)).toMatchObject({ key: first.key, cached: true });
    await writeFile(join(root, "main.js"), "2");
    const changed = await buildImage(options);
    expect(changed).toMatchObject({ cached: false });
    expect(changed.key).not.toBe(first.key);
    expect(await readFile(join(changed.appDir, "main.js"), "utf8")).toBe("2");
    expect(existsSync(join(workDir, first.key))).toBe(true);
  });

  it("fails on a COPY source that is not in the context, naming the line and the ignore file", async () => {
    const { root, workDir } = await context({
      Dockerfile: 'FROM node:20-slim\nWORKDIR /app\nCOPY secret.txt ./\nCMD ["node", "main.js"]\n',
      ".dockerignore": "secret.txt\n",
      "secret.txt": "s",
    });
    await expect(
      buildImage({ dockerfile: join(root, "Dockerfile"), context: root, workDir }),
    ).rejects.toThrow(
      /^Dockerfile:3: secret\.txt is not in the build context .* or is excluded by .*\.dockerignore/,
    );
  });
});
