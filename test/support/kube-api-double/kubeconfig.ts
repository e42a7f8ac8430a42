/**
 * Kubeconfig files for the double, so tests reach it through `--kubeconfig` like an operator.
 *
 * The double speaks plain HTTP; client-node 1.4 refuses `http:` servers unless
 * `insecure-skip-tls-verify` is set, so the file sets it. A bearer token is included (the
 * double does not check it) so the auth path of the library runs too.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The kubeconfig text pointing at `server`. */
export function kubeconfigText(server: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: double",
    "  cluster:",
    `    server: ${server}`,
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: tester",
    "  user:",
    "    token: double-token",
    "contexts:",
    "- name: double",
    "  context:",
    "    cluster: double",
    "    user: tester",
    "current-context: double",
    "",
  ].join("\n");
}

/** A temp dir holding files for one test; `remove()` deletes it. */
export interface TempDir {
  readonly path: string;
  /** Writes `name` in the dir and returns its path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function tempDir(prefix = "kube-double-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    write: (name, text) => {
      const p = join(path, name);
      writeFileSync(p, text);
      return p;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
