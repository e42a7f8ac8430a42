// Makes the freshly built CLI executable and links it as node_modules/.bin/kube-router,
// so `npx kube-router ...` works right after `npm ci` (npm does not link a root package's own bin).
import { chmodSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "dist/agent/main.js");
chmodSync(target, 0o755);
const binDir = join(root, "node_modules/.bin");
mkdirSync(binDir, { recursive: true });
const link = join(binDir, "kube-router");
rmSync(link, { force: true });
symlinkSync(relative(binDir, target), link);
