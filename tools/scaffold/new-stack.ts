/**
 * `eventline new stack <name> --from <stack>`: a stack is three things, kept in three places,
 * and a copy of one without the others fails in ways that do not say why:
 *   - Pulumi.<name>.yaml: the stack's config (project, region, transports, limits such as
 *     eventline:maxReplicasCap);
 *   - `stacks.<name>` in infra/system.ts: the declaration's per-stack changes (smaller worker
 *     pools, shorter retention), which must stay within those limits;
 *   - policies/config/<name>.json: how strictly the policy pack judges it.
 * This copies all three from an existing stack, renamed, the stack file's project id left for
 * the person to set (it names the cloud project, which is never the source stack's).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { format, resolveConfig } from "prettier";
import { Node, Project, SyntaxKind } from "ts-morph";
import { suggest } from "../../handlers/runtime/suggest";
import { ScaffoldError } from "./new-consumer";

export { ScaffoldError };

const REPO = join(__dirname, "..", "..");

const STACK_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** The stacks that have a Pulumi.<stack>.yaml in `root`. */
export function stackFiles(root = REPO): string[] {
  return readdirSync(root)
    .map((file) => /^Pulumi\.([^.]+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

export interface NewStackResult {
  written: string[];
  next: string[];
}

/**
 * Copies `from`'s stack file, declaration changes and policy config to `name`.
 * @throws ScaffoldError, before writing anything, when the name is taken or `from` is unknown.
 */
export async function newStack(name: string, from: string, root = REPO): Promise<NewStackResult> {
  if (!STACK_NAME.test(name))
    throw new ScaffoldError(
      `${name} is not a stack name: lowercase letters, digits and "-", starting with a letter, at most 30`,
    );
  const stackFile = join(root, `Pulumi.${name}.yaml`);
  const policyFile = join(root, "policies", "config", `${name}.json`);
  for (const file of [stackFile, policyFile])
    if (existsSync(file)) throw new ScaffoldError(`${relative(root, file)} exists already`);
  const sourceStackFile = join(root, `Pulumi.${from}.yaml`);
  const sourcePolicyFile = join(root, "policies", "config", `${from}.json`);
  if (!existsSync(sourceStackFile) || !existsSync(sourcePolicyFile)) {
    const known = stackFiles(root);
    throw new ScaffoldError(
      `no stack ${from} to copy${suggest(from, known) || "."} Stacks: ${known.join(", ")}`,
    );
  }

  const project = new Project({ skipAddingFilesFromTsConfig: true });
  const systemPath = join(root, "infra", "system.ts");
  const declaration = project.addSourceFileAtPath(systemPath);
  const call = declaration
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => c.getExpression().getText() === "defineSystem");
  const rootObject = call?.getArguments()[0];
  const stacksProperty =
    rootObject !== undefined && Node.isObjectLiteralExpression(rootObject)
      ? rootObject.getProperty("stacks")
      : undefined;
  const stacks =
    stacksProperty !== undefined && Node.isPropertyAssignment(stacksProperty)
      ? stacksProperty.getInitializer()
      : undefined;
  if (stacks === undefined || !Node.isObjectLiteralExpression(stacks))
    throw new ScaffoldError("infra/system.ts: no stacks: { ... } in defineSystem to add to");
  if (
    stacks.getProperty(name) !== undefined ||
    stacks.getProperty(JSON.stringify(name)) !== undefined
  )
    throw new ScaffoldError(`infra/system.ts declares stacks.${name} already`);
  const source = stacks.getProperty(from) ?? stacks.getProperty(JSON.stringify(from));
  const changes =
    source !== undefined && Node.isPropertyAssignment(source)
      ? (source.getInitializer()?.getText() ?? "{}")
      : "{}";
  stacks.addPropertyAssignment({
    name: STACK_NAME.test(name) && !name.includes("-") ? name : JSON.stringify(name),
    initializer: changes,
    leadingTrivia: `// ${name}: copied from ${from} by eventline new stack; change what differs.\n`,
  });

  const stackYaml = readFileSync(sourceStackFile, "utf8")
    .replace(/^#.*\n/gm, "")
    .replace(/^(\s*gcp:project:\s*).*$/m, "$1REPLACE-with-the-project-id");
  const config = (await resolveConfig(systemPath)) ?? {};
  const systemText = await format(declaration.getFullText(), { ...config, filepath: systemPath });
  writeFileSync(
    stackFile,
    `# ${name}: copied from Pulumi.${from}.yaml by eventline new stack. Set gcp:project, then\n# check each value (docs/deploy.md lists them all).\n${stackYaml}`,
  );
  writeFileSync(policyFile, readFileSync(sourcePolicyFile, "utf8"));
  writeFileSync(systemPath, systemText);
  return {
    written: [relative(root, stackFile), relative(root, policyFile), "infra/system.ts"],
    next: [
      `set gcp:project in Pulumi.${name}.yaml (and any other value that differs from ${from})`,
      `adjust stacks.${name} in infra/system.ts: its worker pools must stay within eventline:maxReplicasCap`,
      `npm run policy -- --stack ${name}`,
      `npx eventline verify --stack ${name}`,
      `pulumi stack init ${name}, then pulumi preview --stack ${name}`,
    ],
  };
}
