/**
 * The real Kubernetes API server for tests: kube-apiserver (k8s.io/kubernetes, the release
 * ./go.mod pins) over an embedded etcd (go.etcd.io/etcd/server/v3, ./etcd/main.go), both built
 * by scripts/build-apiserver.sh into a cache outside the repo.
 *
 * `startRealApiServer()` gives each test run its own: a temp dir with a generated CA and
 * serving certificate (openssl), a service-account signing key, a static token file (an
 * admin in system:masters, and the agent's ServiceAccount identity
 * `system:serviceaccount:kube-system:kube-router`), etcd on loopback ports of its own, and
 * kube-apiserver on a free loopback port with RBAC (Node,RBAC) and the default admission
 * plugins; it resolves once `/readyz` answers 200 and the server has made kube-system and the
 * `kubernetes` Service's EndpointSlice. `stop()` kills only the processes it
 * started (by pid) and removes the temp dir; `stopApiServer()` / `startApiServer()` /
 * `restart()` take the API server process down and up again on the same port and etcd (the
 * cluster's state survives); `compact()` compacts etcd at its current revision.
 *
 * Binaries: `KRT_APISERVER_BIN` (a directory holding kube-apiserver and krt-etcd), else the
 * build script's cache directory. When they are missing, `apiserverSkip` is the reason the
 * tests skip — unless `KRT_REQUIRE_APISERVER=1` (CI), then it is false and starting fails.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ROOT = join(import.meta.dirname, "../../..");
const BUILD_SCRIPT = join(ROOT, "scripts/build-apiserver.sh");

/** The directory the binaries are in (KRT_APISERVER_BIN, else the build script's cache). */
export function apiserverBinDir(): string {
  const env = process.env["KRT_APISERVER_BIN"];
  if (env) return env;
  return execFileSync("bash", [BUILD_SCRIPT, "--print-dir"], { encoding: "utf8" }).trim();
}

function missingBinaries(): string | false {
  let dir: string;
  try {
    dir = apiserverBinDir();
  } catch (e) {
    return `cannot locate the binaries (${BUILD_SCRIPT} --print-dir failed: ${String(e).split("\n")[0]})`;
  }
  const missing = ["kube-apiserver", "krt-etcd"].filter((b) => !existsSync(join(dir, b)));
  return missing.length === 0 ? false : `${missing.join(" and ")} not built in ${dir}: run scripts/build-apiserver.sh (Go ≥ 1.24 and the Go module proxy)`;
}

const missing = missingBinaries();
const required = process.env["KRT_REQUIRE_APISERVER"] === "1";

/** Why the real-apiserver tests skip here, or false when they run (always false when required). */
export const apiserverSkip: string | false = missing && !required ? `real kube-apiserver tier: ${missing}` : false;

export const AGENT_USER = "system:serviceaccount:kube-system:kube-router";

export interface RealApiServerOptions {
  /** `--watch-cache` (default true). With it off, watches are served by etcd itself, so an
   * etcd compaction past a watcher's resourceVersion is a 410 Gone on its next watch. */
  readonly watchCache?: boolean;
  /** `--min-request-timeout` in seconds (default 1800, the server's default): a watch without
   * timeoutSeconds ends after a random 1–2× this, and a bookmark is sent 2 s before that. */
  readonly minRequestTimeoutS?: number;
  /** Extra kube-apiserver flags. */
  readonly extraArgs?: readonly string[];
}

export interface RealApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly caPem: string;
  readonly adminToken: string;
  /** The static token of `system:serviceaccount:kube-system:kube-router`. */
  readonly agentToken: string;
  /** etcd's client URL (its gRPC gateway answers JSON at /v3/...). */
  readonly etcdUrl: string;
  readonly dir: string;
  /** Milliseconds from generating the certificates to /readyz 200 with kube-system and the
   * `kubernetes` Service's EndpointSlice in place. */
  readonly startupMs: number;
  /** Writes a kubeconfig (this server, its CA, `token`; admin by default) and returns its path. */
  kubeconfig(token?: string, name?: string): string;
  /** Kills the kube-apiserver process (SIGTERM, then SIGKILL after 10 s); etcd stays. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port; resolves at /readyz 200 with the ms it took. */
  startApiServer(): Promise<number>;
  /** stopApiServer + startApiServer. */
  restart(): Promise<number>;
  /** Compacts etcd at its current revision; returns that revision. */
  compact(): Promise<number>;
  /** The etcd revision now. */
  etcdRevision(): Promise<number>;
  /** A JSON request to the API server as `token` (admin by default): status code and parsed body. */
  request(method: string, path: string, body?: unknown, token?: string, contentType?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** The last lines of a process log (`apiserver` or `etcd`), for failure messages. */
  logTail(which: "apiserver" | "etcd", lines?: number): string;
  /** Kills every process it started (by pid) and removes the temp dir. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read, close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every child started by any helper in this process, so a crash of the test still kills them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) if (p.pid !== undefined && p.exitCode === null) try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
});

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** CA, serving cert for 127.0.0.1/localhost/kubernetes.default.svc, SA key pair. */
function makeCerts(dir: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
    "-days", "2", "-subj", "/CN=krt-test-ca"]);
  writeFileSync(join(dir, "serving.ext"), [
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
    "",
  ].join("\n"));
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "serving.key", "-out", "serving.csr", "-subj", "/CN=kube-apiserver"]);
  openssl(dir, ["x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "serving.crt", "-days", "2", "-extfile", "serving.ext"]);
  openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"]);
  openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

const tail = (file: string, n: number): string => {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
};

function spawnLogged(bin: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, "a");
  try {
    const p = spawn(bin, args, { stdio: ["ignore", fd, fd] });
    live.add(p);
    p.once("exit", () => live.delete(p));
    return p;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
async function kill(p: ChildProcess, graceMs = 10_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  process.kill(p.pid, "SIGTERM");
  const t = setTimeout(() => { if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid, "SIGKILL"); }, graceMs);
  await exited;
  clearTimeout(t);
}

interface HttpAnswer { status: number; text: string }

function httpsRequest(url: string, opts: { method?: string; ca?: string; token?: string; body?: string; contentType?: string; timeoutMs?: number }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const tls = url.startsWith("https:");
    const headers: Record<string, string> = { Accept: "application/json" };
    if (opts.token) headers["Authorization"] = `Bearer ${opts.token}`;
    // Content-Length always: node sends a DELETE body neither chunked nor sized, which Go's server refuses (400)
    if (opts.body !== undefined) Object.assign(headers, { "Content-Type": opts.contentType ?? "application/json", "Content-Length": String(Buffer.byteLength(opts.body)) });
    const handler = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    };
    const req = tls
      ? https.request(url, { method: opts.method ?? "GET", headers, ...(opts.ca ? { ca: opts.ca } : {}), timeout: opts.timeoutMs ?? 10_000 }, handler)
      : (http.request(url, { method: opts.method ?? "GET", headers, timeout: opts.timeoutMs ?? 10_000 }, handler));
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Starts etcd and kube-apiserver for one test file. Throws (with log tails) if either fails. */
export async function startRealApiServer(opts: RealApiServerOptions = {}): Promise<RealApiServer> {
  if (missing) throw new Error(`real kube-apiserver tier required (KRT_REQUIRE_APISERVER=1) but ${missing}`);
  const bin = apiserverBinDir();
  const dir = mkdtempSync(join(tmpdir(), "krt-apiserver-"));
  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  const cleanup = async () => {
    if (apiserver) await kill(apiserver);
    if (etcd) await kill(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const t0 = Date.now();
    makeCerts(dir);
    const caPem = readFileSync(join(dir, "ca.crt"), "utf8");
    const adminToken = randomBytes(16).toString("hex");
    const agentToken = randomBytes(16).toString("hex");
    writeFileSync(join(dir, "tokens.csv"), [
      `${adminToken},krt-admin,krt-admin,"system:masters"`,
      `${agentToken},${AGENT_USER},kube-router-sa-uid,"system:serviceaccounts,system:serviceaccounts:kube-system"`,
      "",
    ].join("\n"));

    const etcdLog = join(dir, "etcd.log");
    const apiLog = join(dir, "apiserver.log");
    const [ePort, pPort, port] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${ePort}`;
    etcd = spawnLogged(join(bin, "krt-etcd"), ["--data-dir", join(dir, "etcd"), "--listen-client-url", etcdUrl,
      "--listen-peer-url", `http://127.0.0.1:${pPort}`], etcdLog);
    const etcdProc = etcd;
    const etcdJson = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
      const r = await httpsRequest(`${etcdUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`etcd ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      return JSON.parse(r.text) as Record<string, unknown>;
    };
    const etcdRevision = async (): Promise<number> => {
      const r = await etcdJson("/v3/kv/range", { key: Buffer.from("/").toString("base64"), limit: 1 });
      return Number((r["header"] as { revision?: string } | undefined)?.revision ?? NaN);
    };
    await waitFor("etcd", 20_000, etcdProc, etcdLog, async () => Number.isFinite(await etcdRevision()));

    const url = `https://127.0.0.1:${port}`;
    const args = [
      `--etcd-servers=${etcdUrl}`,
      // The `kubernetes` Service's endpoints carry the advertise address, and the server refuses
      // loopback there: a documentation address (TEST-NET-1) nobody dials; clients use `url`.
      "--bind-address=127.0.0.1", "--advertise-address=192.0.2.10", `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--tls-cert-file=${join(dir, "serving.crt")}`, `--tls-private-key-file=${join(dir, "serving.key")}`,
      `--client-ca-file=${join(dir, "ca.crt")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=Node,RBAC",
      // the defaults plus NodeRestriction, as kubeadm runs it
      "--enable-admission-plugins=NodeRestriction",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      "--allow-privileged=true",
      "--profiling=false",
      `--watch-cache=${opts.watchCache ?? true}`,
      `--min-request-timeout=${opts.minRequestTimeoutS ?? 1800}`,
      ...(opts.extraArgs ?? []),
    ];
    const readyz = async (): Promise<boolean> => {
      const r = await httpsRequest(`${url}/readyz`, { ca: caPem, token: adminToken, timeoutMs: 2000 });
      return r.status === 200;
    };
    const startApiServer = async (): Promise<number> => {
      const s0 = Date.now();
      apiserver = spawnLogged(join(bin, "kube-apiserver"), args, apiLog);
      await waitFor("kube-apiserver /readyz", 60_000, apiserver, apiLog, readyz);
      return Date.now() - s0;
    };
    await startApiServer();
    // /readyz does not wait for what the server's own controllers create next: the system
    // namespaces and the `kubernetes` Service's EndpointSlice. Tests write into kube-system
    // and list slices, so the cluster counts as started once both exist.
    for (const path of ["/api/v1/namespaces/kube-system", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"]) {
      await waitFor(`kube-apiserver: ${path}`, 30_000, apiserver!, apiLog,
        async () => (await httpsRequest(`${url}${path}`, { ca: caPem, token: adminToken, timeoutMs: 2000 })).status === 200);
    }
    const startupMs = Date.now() - t0;

    const stopApiServer = async () => {
      if (apiserver) await kill(apiserver);
      apiserver = undefined;
    };
    const kubeconfig = (token = adminToken, name = "kubeconfig"): string => {
      const p = join(dir, name);
      writeFileSync(p, [
        "apiVersion: v1", "kind: Config",
        "clusters:", "- name: real", "  cluster:", `    server: ${url}`, `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
        "users:", "- name: user", "  user:", `    token: ${token}`,
        "contexts:", "- name: real", "  context:", "    cluster: real", "    user: user",
        "current-context: real", "",
      ].join("\n"));
      return p;
    };
    return {
      url, port, caPem, adminToken, agentToken, etcdUrl, dir, startupMs,
      kubeconfig,
      stopApiServer,
      startApiServer,
      restart: async () => {
        await stopApiServer();
        return await startApiServer();
      },
      etcdRevision,
      compact: async () => {
        const rev = await etcdRevision();
        await etcdJson("/v3/kv/compaction", { revision: String(rev), physical: true });
        return rev;
      },
      request: async (method, path, body, token = adminToken, contentType) => {
        const r = await httpsRequest(`${url}${path}`, {
          method, ca: caPem, token,
          ...(body !== undefined ? { body: JSON.stringify(body), contentType: contentType ?? (method === "PATCH" ? "application/merge-patch+json" : "application/json") } : {}),
        });
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(r.text) as Record<string, unknown>;
        } catch {
          parsed = { text: r.text };
        }
        return { status: r.status, body: parsed };
      },
      logTail: (which, lines = 30) => tail(which === "etcd" ? etcdLog : apiLog, lines),
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Polls `ok` until true; fails early (with the log's tail) if `proc` exits. */
async function waitFor(what: string, timeoutMs: number, proc: ChildProcess, log: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${what}: the process exited (${proc.exitCode ?? proc.signalCode}) before it was ready; log tail:\n${tail(log, 25)}`);
    }
    try {
      if (await ok()) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms; log tail:\n${tail(log, 25)}`);
    await sleep(100);
  }
}
