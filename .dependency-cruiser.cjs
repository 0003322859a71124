// The layering of the repository, checked by `npm run lint:deps` (dependency-cruiser): arrows run
// one way, model ← runtime ← handlers, model ← infra, and everything ← tools, bench and test.
/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment:
        "A cycle makes load order matter and hides which module depends on which; move the shared part down.",
      from: {},
      to: { circular: true },
    },
    {
      name: "model-is-the-bottom",
      severity: "error",
      comment:
        "infra/model is the declaration language every interpreter reads: it imports nothing of the project but proto/gen.",
      from: { path: "^infra/model/" },
      to: { path: "^(infra/(?!model/)|handlers/|tools/|policies/|bench/|test/)" },
    },
    {
      name: "runtime-is-given-the-declaration",
      severity: "error",
      comment:
        "The runtime receives the resolved declaration (handlers/declared.ts resolves infra/system.ts); it imports only its types.",
      from: { path: "^handlers/runtime/" },
      to: { path: "^infra/system\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "runtime-below-handlers",
      severity: "error",
      comment:
        "The runtime hosts handlers; it imports none of them, nor the adapters, the gateway or the tracker.",
      from: { path: "^handlers/runtime/" },
      to: { path: "^handlers/(?!runtime/)" },
    },
    {
      name: "program-not-tools",
      severity: "error",
      comment:
        "infra/ is the Pulumi program and the declaration; the developer tools build on it, not the other way.",
      from: { path: "^infra/" },
      to: { path: "^(tools|bench|test)/" },
    },
    {
      name: "program-not-runtime",
      severity: "error",
      comment: "The Pulumi program reads the declaration, not the runtime that runs it.",
      from: { path: "^infra/(?!evaluate\\.ts)" },
      to: { path: "^handlers/" },
    },
    {
      name: "image-not-tools",
      severity: "error",
      comment:
        "What the image ships (handlers/) never reaches into the tools, the benchmarks or the tests.",
      from: { path: "^handlers/" },
      to: { path: "^(tools|bench|test|policies)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|proto/gen|\\.eventline|\\.scratch|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
