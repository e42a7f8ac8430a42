/**
 * The API source over HTTPS, as every real cluster serves it: the server's certificate is
 * checked against the kubeconfig's certificate-authority-data and the bearer token is sent.
 * A wrong CA or a wrong token never syncs and says why in one status line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type KubeSourceOptions, createKubeSource } from "../../src/sources/kube/index.ts";
import { ApiServerDouble, eventually, freePort, node, tempDir } from "../support/kube-api-double/index.ts";

const FAST: KubeSourceOptions = { backoff: { initialMs: 20, maxMs: 100, jitter: 0 }, watchSilenceMs: 0 };
const TOKEN = "s3cret-token";

/** A fresh self-signed certificate for 127.0.0.1 (key and cert PEM). */
function selfSigned(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

function kubeconfig(server: string, caPem: string, token: string): string {
  return [
    "apiVersion: v1", "kind: Config",
    "clusters:", "- name: tls", "  cluster:", `    server: ${server}`, `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
    "users:", "- name: sa", "  user:", `    token: ${token}`,
    "contexts:", "- name: tls", "  context:", "    cluster: tls", "    user: sa",
    "current-context: tls", "",
  ].join("\n");
}

interface TlsCase {
  readonly api: ApiServerDouble;
  /** Writes a file in the case's temp dir; returns its path. */
  readonly write: (name: string, text: string) => string;
  /** The server's own certificate (its CA) and an unrelated one. */
  readonly serverCert: string;
  readonly otherCert: string;
}

async function withTlsDouble(body: (c: TlsCase) => Promise<void>): Promise<void> {
  const dir = tempDir("kube-tls-");
  const pair = selfSigned(dir.path, "server");
  const other = selfSigned(dir.path, "other");
  const api = new ApiServerDouble(await freePort(), { tls: pair, requireToken: TOKEN });
  await api.listen();
  try {
    api.create("nodes", node("node-a", { podCIDR: "10.244.0.0/24", ip: "10.0.0.1" }));
    await body({ api, write: dir.write, serverCert: pair.cert, otherCert: other.cert });
  } finally {
    await api.close();
    dir.remove();
  }
}

test("given an HTTPS API server, when the kubeconfig has its CA and the token, then the source syncs", async () => {
  await withTlsDouble(async ({ api, write, serverCert }) => {
    const src = createKubeSource({ kubeconfig: write("kc", kubeconfig(api.url, serverCert, TOKEN)), ...FAST });
    try {
      await src.start();
      assert.equal(await src.waitSynced(5000), true, `not synced: ${src.status().error ?? ""}`);
      assert.deepEqual([...src.snapshot().nodes.keys()], ["node-a"]);
      assert.ok(api.url.startsWith("https://"));
    } finally {
      await src.stop();
    }
  });
});

test("given an HTTPS API server, when the kubeconfig trusts another CA, then nothing syncs and the status names the certificate problem", async () => {
  await withTlsDouble(async ({ api, write, otherCert }) => {
    const src = createKubeSource({ kubeconfig: write("kc", kubeconfig(api.url, otherCert, TOKEN)), ...FAST });
    try {
      await src.start();
      assert.equal(await src.waitSynced(300), false);
      await eventually("a status error", () => src.status().error !== undefined, 3000);
      assert.match(src.status().error ?? "", /certificate|self.signed|verify/i);
      assert.doesNotMatch(src.status().error ?? "", /\n/);
    } finally {
      await src.stop();
    }
  });
});

test("given an HTTPS API server, when the token is wrong, then nothing syncs and the status says 401", async () => {
  await withTlsDouble(async ({ api, write, serverCert }) => {
    const src = createKubeSource({ kubeconfig: write("kc", kubeconfig(api.url, serverCert, "wrong")), ...FAST });
    try {
      await src.start();
      assert.equal(await src.waitSynced(300), false);
      await eventually("a status error", () => src.status().error !== undefined, 3000);
      assert.match(src.status().error ?? "", /401|Unauthorized/);
    } finally {
      await src.stop();
    }
  });
});
