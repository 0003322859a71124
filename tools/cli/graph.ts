/**
 * `eventline graph`: the topology (producers → topics → consumers → emitted events) as
 * Mermaid, which GitHub renders in Markdown, or Graphviz DOT.
 */
import { Command, Option } from "commander";
import { renderDiagram, type DiagramFormat } from "../catalog/diagram";
import { topologyOf } from "../catalog/topology";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { LOCAL_STACK } from "../local/settings";

export function graphCommand(): Command {
  return new Command("graph")
    .description("print the system's topology as a diagram")
    .addOption(
      new Option("-f, --format <format>", "diagram language")
        .choices(["mermaid", "dot"])
        .default("mermaid"),
    )
    .option("--archivers", "include the built-in <topic>-archiver consumers", false)
    .option("-s, --stack <stack>", "stack whose overrides apply", LOCAL_STACK)
    .action((options: { format: DiagramFormat; archivers: boolean; stack: string }) => {
      const topology = topologyOf(resolveSystem(system, options.stack), {
        archivers: options.archivers,
      });
      process.stdout.write(renderDiagram(topology, options.format));
    });
}
