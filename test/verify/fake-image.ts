/**
 * An ImageBuild whose app directory is test/verify/fixtures, running fixtures/workload.mjs: a
 * workload that starts in milliseconds, for the container and probe tests.
 */
import { join } from "node:path";
import type { ImageBuild } from "../../tools/verify/image";

export const fakeImage: ImageBuild = {
  appDir: join(__dirname, "fixtures"),
  command: ["node", "workload.mjs"],
  env: { FROM_IMAGE: "image", SHARED: "image" },
  user: "1000:1000",
  exposed: [8080],
  baseImage: "node:20-slim",
  key: "0".repeat(64),
  cached: true,
};
