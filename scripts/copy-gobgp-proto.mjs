// Copies the GoBGP API subset (src/apply/gobgp/proto/api/*.proto) next to the compiled client
// (dist/apply/gobgp/proto), where src/apply/gobgp/schema.ts looks for it at run time: tsc does
// not copy non-TypeScript files, and the container image ships dist/ only.
import { cpSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
cpSync(join(root, "src/apply/gobgp/proto"), join(root, "dist/apply/gobgp/proto"), { recursive: true });
