/**
 * Starting the API source: configuration errors (one line, the runtime exits 1 with it), and an
 * API server that is down when the agent starts (error status, retries, never crashes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, KubeConfigError, createKubeSource, loadKubeConfig } from "../../src/sources/kube/index.ts";
import { eventually, namespace, node, reserveApiDouble, sleep, tempDir } from "../support/kube-api-double/index.ts";

function configError(fn: () => unknown): KubeConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KubeConfigError, String(e));
    return e;
  }
  return assert.fail("expected a KubeConfigError");
}

test("an unparseable kubeconfig fails with one line naming the file and the reason", () => {
  const dir = tempDir();
  try {
    // Given kubeconfig files that are broken in different ways
    const cases: [string, string, RegExp][] = [
      ["flow.yaml", "clusters: [\n", /^kubeconfig .*flow\.yaml: cannot parse: .* at line 2, column 1$/],
      ["empty.yaml", "", /^kubeconfig .*empty\.yaml: cannot parse: not a kubeconfig/],
      ["nocluster.yaml", "apiVersion: v1\nclusters:\n- name: x\n", /^kubeconfig .*nocluster\.yaml: cannot parse: clusters\[0\]\.cluster is missing$/],
      ["noctx.yaml", "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\ncurrent-context: prod\n", /^kubeconfig .*noctx\.yaml: current-context "prod" names no cluster$/],
    ];
    for (const [name, text, want] of cases) {
      const path = dir.write(name, text);
      // When the source is created from it
      const e = configError(() => createKubeSource({ kubeconfig: path }));
      // Then the error is one line with the file and the reason
      assert.match(e.message, want);
      assert.equal(e.message.includes("\n"), false);
    }
    // And a missing file says so
    assert.match(configError(() => loadKubeConfig({ kubeconfig: `${dir.path}/nope` })).message, /^kubeconfig .*nope: no such file$/);
  } finally {
    dir.remove();
  }
});

test("no --kubeconfig, no --master and not in a pod: a clear configuration error", () => {
  const e = configError(() => loadKubeConfig({}, {}));
  assert.match(e.message, /not running in a pod/);
});

test("--master alone: that server, plain http accepted; a host without scheme is https", () => {
  assert.equal(loadKubeConfig({ master: "http://127.0.0.1:8080" }, {}).server, "http://127.0.0.1:8080");
  assert.equal(loadKubeConfig({ master: "10.0.0.1:6443" }, {}).server, "https://10.0.0.1:6443");
  assert.match(configError(() => loadKubeConfig({ master: "ftp://x" }, {})).message, /scheme must be http or https/);
});

test("API server down at start: error status, retries with backoff, syncs when it comes up", async () => {
  // Given a double whose port is known but which is not listening yet
  const d = await reserveApiDouble();
  d.api.store.create("nodes", node("node-a", { podCIDR: "10.244.0.0/24" }));
  d.api.store.create("namespaces", namespace("ns1"));
  const logs: string[] = [];
  const src = createKubeSource({
    kubeconfig: d.kubeconfig, backoff: { initialMs: 20, maxMs: 80, jitter: 0 }, watchSilenceMs: 0,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  try {
    // When the source starts
    await src.start();
    // Then it is not synced, and its status carries a one-line connection error
    assert.equal(await src.waitSynced(200), false);
    const st = src.status();
    assert.equal(st.synced, false);
    assert.match(st.error ?? "", new RegExp(`^API server ${d.api.url}: \\w+: list /\\S+: connect ECONNREFUSED 127\\.0\\.0\\.1:${d.api.port}`));
    assert.equal(st.error?.includes("\n"), false);
    // And it keeps retrying, with the delay growing to the cap
    const nodeRetries = () => logs.filter((l) => l.includes(": nodes: ")).map((l) => Number(/retrying in (\d+) ms/.exec(l)?.[1]));
    await eventually("four failed attempts for nodes", () => nodeRetries().length >= 4, 3000);
    const delays = nodeRetries();
    assert.deepEqual(delays.slice(0, 4), [20, 40, 80, 80]);
    // When the API server comes up
    await d.api.listen();
    // Then the source syncs and the error clears
    assert.equal(await src.waitSynced(3000), true);
    assert.equal(src.status().error, undefined);
    assert.deepEqual([...src.snapshot().nodes.keys()], ["node-a"]);
    assert.ok(logs.some((l) => /^info .*nodes: recovered$/.test(l)));
  } finally {
    await src.stop();
    await d.dispose();
  }
});

test("API server goes away and comes back: changes made meanwhile are applied", async () => {
  const d = await reserveApiDouble();
  await d.api.listen();
  d.api.store.create("namespaces", namespace("ns1"));
  const src = createKubeSource({ kubeconfig: d.kubeconfig, kinds: ["namespaces"], backoff: { initialMs: 20, maxMs: 50, jitter: 0 }, watchSilenceMs: 0 });
  try {
    await src.start();
    assert.equal(await src.waitSynced(3000), true);
    // When the server stops, the cluster changes, and the server returns
    await d.api.close();
    d.api.store.create("namespaces", namespace("ns2"));
    d.api.store.delete("namespaces", "", "ns1");
    await eventually("error reported", () => src.status().error !== undefined, 3000);
    await sleep(100);
    await d.api.listen();
    // Then the source converges and the error clears
    await eventually("converged", () => {
      const s = src.snapshot();
      return s.namespaces.has("ns2") && !s.namespaces.has("ns1") && src.status().error === undefined;
    }, 3000);
  } finally {
    await src.stop();
    await d.dispose();
  }
});

test("backoff: exponential, capped, jittered by the injected random, reset on success", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
  b.reset();
  assert.equal(b.next(), 100);
  const lo = new Backoff({ initialMs: 100, jitter: 0.5, random: () => 0 });
  const hi = new Backoff({ initialMs: 100, jitter: 0.5, random: () => 0.999999 });
  assert.equal(lo.next(), 50);
  assert.equal(hi.next(), 150);
  const capped = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5, random: () => 0.999999 });
  assert.equal(capped.next(), 1000);
});
