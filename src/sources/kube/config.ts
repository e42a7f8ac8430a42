/**
 * Where the API server is and how to authenticate, as upstream kube-router decides it:
 * - `--kubeconfig FILE`: that file's current context; `--master URL` then overrides its server;
 * - `--master URL` alone: in-cluster credentials (service account token and CA) when running in
 *   a pod, else no credentials, against that URL;
 * - neither: in-cluster configuration (`KUBERNETES_SERVICE_HOST`/`_PORT` and the service
 *   account files).
 *
 * Plain `http://` servers are accepted, as client-go does (client-node 1.4 refuses them unless
 * `insecure-skip-tls-verify` is set, which is meaningless without TLS, so it is set for them).
 *
 * Fails with `KubeConfigError`, whose message is one line naming the file and the reason
 * (`kubeconfig /etc/kr.conf: cannot parse: bad indentation of a mapping entry (3:5)`); the
 * runtime prints it and exits 1.
 *
 * @category sources
 */
import { existsSync } from "node:fs";
import { type Cluster, KubeConfig, type User } from "@kubernetes/client-node";

/** A configuration problem, `message` one line. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

export interface ConnectionFlags {
  /** `--kubeconfig`; "" or undefined: not given. */
  readonly kubeconfig?: string;
  /** `--master`; "" or undefined: not given. */
  readonly master?: string;
}

const SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The first line of an error (js-yaml appends a source excerpt on the following lines). */
const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();

/** `host:port` → `https://host:port`; validates the URL. */
function masterUrl(master: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(master) ? master : `https://${master}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new KubeConfigError(`--master ${JSON.stringify(master)}: not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new KubeConfigError(`--master ${master}: scheme must be http or https`);
  return withScheme.replace(/\/+$/, "");
}

/** Replaces the current cluster by `patch(cluster)`. */
function patchCurrentCluster(kc: KubeConfig, patch: (c: Cluster) => Cluster): void {
  const current = kc.getCurrentCluster();
  if (!current) return;
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === current.name ? patch(c) : c)),
    contexts: kc.contexts,
    users: kc.users,
    currentContext: kc.currentContext,
  });
}

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  if (!existsSync(path)) throw new KubeConfigError(`kubeconfig ${path}: no such file`);
  try {
    kc.loadFromFile(path);
  } catch (e) {
    // A TypeError is the library reading fields of a document that is not a mapping (empty file, scalar).
    const reason = e instanceof TypeError ? "not a kubeconfig (expected a mapping with clusters, users, contexts)" : firstLine(e);
    throw new KubeConfigError(`kubeconfig ${path}: cannot parse: ${reason}`);
  }
  if (!kc.getCurrentCluster()) {
    const ctx = kc.currentContext;
    throw new KubeConfigError(
      ctx ? `kubeconfig ${path}: current-context ${JSON.stringify(ctx)} names no cluster` : `kubeconfig ${path}: no current-context`,
    );
  }
  return kc;
}

function inCluster(env: NodeJS.ProcessEnv): KubeConfig {
  if (!env["KUBERNETES_SERVICE_HOST"] || !env["KUBERNETES_SERVICE_PORT"]) {
    throw new KubeConfigError("no --kubeconfig or --master given and not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset)");
  }
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

/**
 * Builds the client configuration from the flags (see the module doc). Throws KubeConfigError.
 * `env` defaults to `process.env`.
 */
export function loadKubeConfig(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const master = flags.master ? masterUrl(flags.master) : undefined;
  let kc: KubeConfig;
  if (flags.kubeconfig) {
    kc = loadFile(flags.kubeconfig);
  } else if (master) {
    if (env["KUBERNETES_SERVICE_HOST"] && existsSync(SA_TOKEN)) {
      kc = new KubeConfig();
      kc.loadFromCluster();
    } else {
      kc = new KubeConfig();
      const user: User = { name: "master-user" };
      kc.loadFromClusterAndUser({ name: "master", server: master, skipTLSVerify: false }, user);
    }
  } else {
    kc = inCluster(env);
  }
  if (master) patchCurrentCluster(kc, (c) => ({ ...c, server: master }));
  patchCurrentCluster(kc, (c) => (c.server.startsWith("http:") ? { ...c, skipTLSVerify: true } : c));
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new KubeConfigError(`${flags.kubeconfig ? `kubeconfig ${flags.kubeconfig}` : "configuration"}: the current cluster has no server`);
  return kc;
}

/** The API server URL a configuration points at (for log lines). */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "(none)";
}
