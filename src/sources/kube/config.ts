/**
 * Where the API server is and how to authenticate, as upstream kube-router decides it:
 * - `--kubeconfig FILE`: that file's current context; `--master URL` then overrides its server;
 * - `--master URL` alone: in-cluster credentials (service account token and CA) when running in
 *   a pod, else no credentials, against that URL;
 * - neither: in-cluster configuration (`KUBERNETES_SERVICE_HOST`/`_PORT` and the service
 *   account files).
 *
 * A kubeconfig user may authenticate with `token`, `tokenFile`, `client-certificate(-data)` +
 * `client-key(-data)`, or `username`/`password`; files are relative to the kubeconfig's
 * directory. Credential plugins (`exec`, `auth-provider`) are refused with one line: a node
 * agent authenticates with its service account or a certificate.
 *
 * Fails with `KubeConfigError`, whose message is one line naming the file and the reason
 * (`kubeconfig /etc/kr.conf: cannot parse: … at line 3, column 5`); the runtime prints it and
 * exits 1.
 *
 * @category sources
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { type KubeConnectionSpec, type KubeCredentials, KubeConnection } from "./connection.ts";

export { KubeConnection } from "./connection.ts";

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

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const SA_TOKEN = `${SA_DIR}/token`;
const SA_CA = `${SA_DIR}/ca.crt`;

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The first line of an error (the YAML parser appends a source excerpt on the following lines). */
const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.replace(/:$/, "").trim();

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

/** The named entries of a kubeconfig list (`clusters`, `users`, `contexts`), each's `field` mapping; throws on a malformed entry. */
function named(doc: Obj, list: string, field: string, required: boolean): Map<string, Obj> {
  const out = new Map<string, Obj>();
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw new Error(`${list} is not a list`);
  items.forEach((it: unknown, i) => {
    if (!isObj(it) || str(it["name"]) === undefined) throw new Error(`${list}[${i}].name is missing`);
    const body = it[field];
    if (!isObj(body) && (required || body !== undefined)) throw new Error(`${list}[${i}].${field} is missing`);
    out.set(it["name"] as string, isObj(body) ? body : {});
  });
  return out;
}

/** A file's bytes or the base64 `-data` value of a kubeconfig field pair; undefined when neither is set. */
function material(o: Obj, field: string, base: string, file: string): Buffer | undefined {
  const data = str(o[`${field}-data`]);
  if (data !== undefined) return Buffer.from(data, "base64");
  const path = str(o[field]);
  if (path === undefined) return undefined;
  const abs = resolve(base, path);
  try {
    return readFileSync(abs);
  } catch (e) {
    throw new KubeConfigError(`kubeconfig ${file}: ${field} ${abs}: ${(e as NodeJS.ErrnoException).code ?? firstLine(e)}`);
  }
}

function userCredentials(user: Obj, userName: string, base: string, file: string): KubeCredentials {
  const token = str(user["token"]);
  const tokenFile = str(user["tokenFile"]);
  const cert = material(user, "client-certificate", base, file);
  const key = material(user, "client-key", base, file);
  const username = str(user["username"]);
  const password = str(user["password"]);
  const creds: KubeCredentials = {
    ...(token !== undefined ? { token } : tokenFile !== undefined ? { tokenFile: resolve(base, tokenFile) } : {}),
    ...(cert ? { cert } : {}), ...(key ? { key } : {}),
    ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}),
  };
  const plugin = user["exec"] !== undefined ? "exec credential plugins" : user["auth-provider"] !== undefined ? "auth-provider plugins" : undefined;
  if (plugin && Object.keys(creds).length === 0) {
    throw new KubeConfigError(`kubeconfig ${file}: user ${JSON.stringify(userName)}: ${plugin} are not supported (use a token, tokenFile or client certificate)`);
  }
  return creds;
}

function loadFile(file: string): KubeConnectionSpec {
  if (!existsSync(file)) throw new KubeConfigError(`kubeconfig ${file}: no such file`);
  let doc: unknown;
  let clusters: Map<string, Obj>;
  let users: Map<string, Obj>;
  let contexts: Map<string, Obj>;
  try {
    doc = parse(readFileSync(file, "utf8"));
    if (!isObj(doc)) throw new Error("not a kubeconfig (expected a mapping with clusters, users, contexts)");
    clusters = named(doc, "clusters", "cluster", true);
    users = named(doc, "users", "user", false);
    contexts = named(doc, "contexts", "context", true);
  } catch (e) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot parse: ${firstLine(e)}`);
  }
  const current = str(doc["current-context"]);
  if (current === undefined) throw new KubeConfigError(`kubeconfig ${file}: no current-context`);
  const ctx = contexts.get(current);
  const clusterName = str(ctx?.["cluster"]);
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (cluster === undefined) throw new KubeConfigError(`kubeconfig ${file}: current-context ${JSON.stringify(current)} names no cluster`);
  const server = str(cluster["server"]);
  if (server === undefined) throw new KubeConfigError(`kubeconfig ${file}: the current cluster has no server`);
  const base = dirname(resolve(file));
  const userName = str(ctx?.["user"]);
  const user = userName === undefined ? undefined : users.get(userName);
  const ca = material(cluster, "certificate-authority", base, file);
  const tlsServerName = str(cluster["tls-server-name"]);
  return {
    server,
    ...(ca ? { ca } : {}),
    ...(cluster["insecure-skip-tls-verify"] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    credentials: user === undefined ? {} : userCredentials(user, userName!, base, file),
  };
}

/** The service account's CA and token file, against `server`. */
function serviceAccount(server: string): KubeConnectionSpec {
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(SA_CA);
  } catch {
    ca = undefined;
  }
  return { server, ...(ca ? { ca } : {}), credentials: { tokenFile: SA_TOKEN } };
}

function inCluster(env: NodeJS.ProcessEnv): KubeConnectionSpec {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  if (!host || !port) {
    throw new KubeConfigError("no --kubeconfig or --master given and not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset)");
  }
  return serviceAccount(`https://${host.includes(":") ? `[${host}]` : host}:${port}`);
}

/**
 * Builds the connection from the flags (see the module doc). Throws KubeConfigError.
 * `env` defaults to `process.env`.
 */
export function loadKubeConfig(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const master = flags.master ? masterUrl(flags.master) : undefined;
  let spec: KubeConnectionSpec;
  if (flags.kubeconfig) spec = loadFile(flags.kubeconfig);
  else if (master) spec = env["KUBERNETES_SERVICE_HOST"] && existsSync(SA_TOKEN) ? serviceAccount(master) : { server: master, credentials: {} };
  else spec = inCluster(env);
  if (master) spec = { ...spec, server: master };
  try {
    new URL(spec.server);
  } catch {
    throw new KubeConfigError(`${flags.kubeconfig ? `kubeconfig ${flags.kubeconfig}` : "configuration"}: server ${JSON.stringify(spec.server)} is not a URL`);
  }
  return new KubeConnection(spec);
}

/** The API server URL a connection points at (for log lines). */
export function serverOf(kc: KubeConnection): string {
  return kc.server;
}
