/**
 * The agent's own connection settings (src/sources/kube/config.ts, connection.ts): what a
 * kubeconfig or the pod's environment turns into — server, CA, client certificate, the
 * Authorization header — and the one-line refusals (credential plugins, unreadable files).
 * The requests themselves are proven against the double and the real apiserver
 * (kube-tls.test.ts, kube-real*.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { utimesSync, writeFileSync } from "node:fs";
import { KubeConfigError, loadKubeConfig } from "../../src/sources/kube/index.ts";
import { type TempDir, tempDir } from "../support/kube-api-double/index.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Runs `body` with a fresh temporary directory, removed afterwards. */
function inDir(body: (dir: TempDir) => void): void {
  const dir = tempDir();
  try {
    body(dir);
  } finally {
    dir.remove();
  }
}

/** A kubeconfig whose one user is `user` (YAML lines under `user:`). */
const kubeconfig = (user: string, cluster = "    server: https://10.0.0.1:6443\n    certificate-authority: ca.crt") => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
${cluster}
users:
- name: u
  user:
${user}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`;

test("given a kubeconfig with files relative to it (CA, client certificate and key), when loaded, then the TLS options carry their bytes and no Authorization header is sent", () => inDir((dir) => {
  dir.write("ca.crt", "CA-PEM");
  dir.write("me.crt", "CERT-PEM");
  dir.write("me.key", "KEY-PEM");
  const path = dir.write("kubeconfig", kubeconfig("    client-certificate: me.crt\n    client-key: me.key"));
  const o = loadKubeConfig({ kubeconfig: path }).requestOptions();
  assert.deepEqual([String(o.ca), String(o.cert), String(o.key), o.rejectUnauthorized, o.headers], ["CA-PEM", "CERT-PEM", "KEY-PEM", true, {}]);
}));

test("given inline -data fields and a token, when loaded, then they are decoded and the token is the bearer", () => inDir((dir) => {
  const path = dir.write("kubeconfig", kubeconfig(`    token: abc\n    client-key-data: ${b64("K")}`, `    server: https://10.0.0.1:6443\n    certificate-authority-data: ${b64("CA")}\n    tls-server-name: kubernetes`));
  const o = loadKubeConfig({ kubeconfig: path }).requestOptions();
  assert.deepEqual([String(o.ca), String(o.key), o.servername, o.headers], ["CA", "K", "kubernetes", { Authorization: "Bearer abc" }]);
}));

test("given a tokenFile, when the file is rewritten (a rotated service-account token), then the next request carries the new token", () => inDir((dir) => {
  dir.write("ca.crt", "CA");
  const tokenPath = dir.write("token", "first\n");
  const kc = loadKubeConfig({ kubeconfig: dir.write("kubeconfig", kubeconfig("    tokenFile: token")) });
  assert.equal(kc.requestOptions().headers["Authorization"], "Bearer first");
  writeFileSync(tokenPath, "second\n");
  utimesSync(tokenPath, new Date(), new Date(Date.now() + 5000));
  assert.equal(kc.requestOptions().headers["Authorization"], "Bearer second");
}));

test("given an exec credential plugin, a missing CA file, or a server that is not a URL, when loaded, then each is one KubeConfigError line naming the file and the problem", () => inDir((dir) => {
  dir.write("ca.crt", "CA");
  const cases: [string, RegExp][] = [
    [kubeconfig("    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}"), /^kubeconfig .*: user "u": exec credential plugins are not supported \(use a token, tokenFile or client certificate\)$/],
    [kubeconfig("    token: t", "    server: https://10.0.0.1:6443\n    certificate-authority: nope.crt"), /^kubeconfig .*: certificate-authority .*\/nope\.crt: ENOENT$/],
    [kubeconfig("    token: t", "    server: 'not a url'"), /^kubeconfig .*: server "not a url" is not a URL$/],
  ];
  for (const [i, [text, want]] of cases.entries()) {
    const path = dir.write(`k${i}`, text);
    assert.throws(() => loadKubeConfig({ kubeconfig: path }), (e: Error) => e instanceof KubeConfigError && want.test(e.message) && !e.message.includes("\n"));
  }
}));

test("given the pod's environment with an IPv6 service host, when no flag is given, then the server is bracketed and the service account's token file authenticates", () => {
  const kc = loadKubeConfig({}, { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" });
  assert.equal(kc.server, "https://[fd00::1]:443");
  assert.deepEqual(kc.spec.credentials, { tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token" });
});

test("given --kubeconfig and --master, when loaded, then --master replaces the server and the file's credentials stay", () => inDir((dir) => {
  const path = dir.write("kubeconfig", kubeconfig("    username: admin\n    password: pw", "    server: https://10.0.0.1:6443"));
  const kc = loadKubeConfig({ kubeconfig: path, master: "10.0.0.9:6443" });
  assert.equal(kc.server, "https://10.0.0.9:6443");
  assert.equal(kc.requestOptions().headers["Authorization"], `Basic ${b64("admin:pw")}`);
}));
