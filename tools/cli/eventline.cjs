#!/usr/bin/env node
// The `eventline` bin (package.json): runs the TypeScript CLI through tsx, so there is no build step.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS shim: require is what it does */
require("tsx/cjs");
require("./main.ts");
