/**
 * The Kubernetes API source against the real kube-apiserver (k8s.io/kubernetes v1.34, over
 * etcd), built by scripts/build-apiserver.sh and started by test/support/apiserver: the same
 * informers, kubeconfig handling and TLS as in production, and the server's own watch cache,
 * bookmarks, 410 Gone after an etcd compaction, and RBAC with deploy/'s ClusterRole.
 *
 * Fault injection that a real server cannot be made to do on demand (silent watches, slow
 * lists, HTTP errors on chosen requests) stays in kube-source.test.ts against the double.
 *
 * Where the double and kube-apiserver v1.34 disagreed (the code follows the real server):
 * - bookmarks: the double sends them on a timer; the real watch cache sends one only once the
 *   kind's resourceVersion has moved past the watch's start (events, or etcd progress notices
 *   every 10 min), 2 s before the watch's end or about once a minute — so a quiet kind's healthy
 *   watch looked stalled to the 5-min watchdog; each watch now asks `timeoutSeconds` below it;
 * - a refused watch: client-node reports only "Forbidden"; the source now says
 *   `watch <path>: HTTP 403 Forbidden`;
 * - after a kube-apiserver restart the new watch cache answers the old resourceVersion with 410,
 *   so kinds relist (the double resumes); with the watch cache on, an etcd compaction is never
 *   seen by watchers — the 410 test turns the cache off;
 * - writes: a Node's podCIDR cannot change once set (422; the double's update allowed it), a
 *   pod's status is dropped on create (pods/status), a pod bound to a node is only deleted with
 *   gracePeriodSeconds=0 when no kubelet runs, pods need their namespace's default
 *   ServiceAccount, and the server adds the system namespaces and the `kubernetes` Service and
 *   EndpointSlice to every snapshot.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { SourceChange } from "../../src/sources/source.ts";
import { type KubeSource, type KubeSourceOptions, createKubeSource } from "../../src/sources/kube/index.ts";
import { endpointSlice, eventually, networkPolicy, node, pod, service, sleep } from "../support/kube-api-double/index.ts";
import { type RealApiServer, apiserverSkip, startRealApiServer } from "../support/apiserver/index.ts";
import { RealCluster } from "../support/apiserver/cluster.ts";

const skip = apiserverSkip;
const FAST: KubeSourceOptions = { backoff: { initialMs: 50, maxMs: 500, jitter: 0 }, watchSilenceMs: 0 };
const KINDS = ["endpointSlices", "namespaces", "networkPolicies", "nodes", "pods", "services"] as const;

let api: RealApiServer | undefined;
let k: RealCluster;

before(async () => {
  if (skip) return;
  // Watches without timeoutSeconds (client-node sends none) end after 5–10 s, with a bookmark 2 s before.
  api = await startRealApiServer({ minRequestTimeoutS: 5 });
  console.log(`# real kube-apiserver: etcd + apiserver ready in ${api.startupMs} ms`);
  k = new RealCluster(api);
  await k.namespace("ns1");
  await k.create("nodes", node("node-a", { podCIDR: "10.244.0.0/24", ip: "10.0.0.1" }));
  await k.create("pods", pod("ns1", "web-1", { ip: "10.244.0.5", port: 8080 }));
  await k.create("services", service("ns1", "web", { clusterIP: "10.96.0.20", targetPort: 8080 }));
  await k.create("endpointslices", endpointSlice("ns1", "web-abcde", "web", ["10.244.0.5"]));
  await k.create("networkpolicies", networkPolicy("ns1", "deny-web", { app: "web" }));
});

after(async () => {
  await api?.stop();
});

/** Runs `body` with a started source (admin token unless `token`); always stops it. */
async function withSource(opts: KubeSourceOptions & { token?: string }, body: (src: KubeSource, changes: SourceChange[], lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  const src = createKubeSource({ kubeconfig: api!.kubeconfig(opts.token, `kubeconfig-${Date.now()}`), ...FAST, ...opts, log: (_l, m) => lines.push(m) });
  const changes: SourceChange[] = [];
  src.onChange((c) => changes.push(c));
  try {
    await src.start();
    await body(src, changes, lines);
  } finally {
    await src.stop();
  }
}

const lists = (src: KubeSource) => Object.fromEntries(src.details().informers.map((i) => [i.kind, i.lists]));

test("real apiserver: the helper starts etcd and kube-apiserver (TLS, tokens, RBAC) within 15 s", { skip }, async () => {
  // Given the server started for this file
  // Then it was ready within the budget
  assert.ok(api!.startupMs <= 15_000, `startup took ${api!.startupMs} ms`);
  // And it authenticates the admin, refuses an unknown token, and authorizes the agent's identity by RBAC only
  assert.equal((await api!.request("GET", "/api/v1/nodes")).status, 200);
  assert.equal((await api!.request("GET", "/api/v1/nodes", undefined, "not-a-token")).status, 401);
  const denied = await api!.request("GET", "/api/v1/nodes", undefined, api!.agentToken);
  assert.equal(denied.status, 403);
  assert.match(String(denied.body["message"]), /User "system:serviceaccount:kube-system:kube-router" cannot list resource "nodes"/);
});

test("real apiserver: initial sync lists every kind, projected, including what the server made itself", { skip }, async () => {
  await withSource({}, async (src, changes) => {
    // When the source starts
    assert.equal(await src.waitSynced(10_000), true, src.status().error);
    // Then every seeded object is in the snapshot, projected
    const s = src.snapshot();
    assert.deepEqual([...s.nodes.keys()], ["node-a"]);
    assert.deepEqual(s.nodes.get("node-a")?.podCIDRs, ["10.244.0.0/24"]);
    assert.deepEqual(s.pods.get("ns1/web-1")?.podIPs, ["10.244.0.5"]);
    assert.equal(s.endpointSlices.get("ns1/web-abcde")?.serviceName, "web");
    assert.ok(s.networkPolicies.has("ns1/deny-web"));
    assert.equal(s.services.get("ns1/web")?.clusterIPs[0], "10.96.0.20");
    // And what the real server creates on its own: the system namespaces and the kubernetes Service with its slice
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease", "ns1"]) assert.ok(s.namespaces.has(ns), ns);
    assert.equal(s.services.get("default/kubernetes")?.clusterIPs[0], "10.96.0.1");
    assert.ok(s.endpointSlices.has("default/kubernetes"), "the apiserver's own EndpointSlice");
    // And one relist per kind, no error
    assert.deepEqual(changes.filter((c) => c.type === "relisted").map((c) => c.kind).sort(), [...KINDS]);
    assert.equal(src.status().error, undefined);
  });
});

test("real apiserver: creates, updates and deletes of the six kinds reach the snapshot", { skip }, async () => {
  await withSource({}, async (src, changes) => {
    assert.equal(await src.waitSynced(10_000), true, src.status().error);
    changes.length = 0;
    // When each kind is created, updated, deleted through the real server
    await k.create("nodes", node("node-b", { podCIDR: "10.244.1.0/24", ip: "10.0.0.2" }));
    await k.namespace("ns2");
    await k.create("pods", pod("ns2", "db-1", { ip: "10.244.1.7", nodeName: "node-b" }));
    await k.create("services", service("ns2", "db", { clusterIP: "10.96.0.30", port: 5432 }));
    await k.create("endpointslices", endpointSlice("ns2", "db-xyz", "db", ["10.244.1.7"], 5432));
    await k.create("networkpolicies", networkPolicy("ns2", "db-only", { app: "db" }));
    await eventually("the created objects", () => {
      const s = src.snapshot();
      return s.nodes.has("node-b") && s.namespaces.has("ns2") && s.pods.get("ns2/db-1")?.podIPs[0] === "10.244.1.7" &&
        s.services.has("ns2/db") && s.endpointSlices.has("ns2/db-xyz") && s.networkPolicies.has("ns2/db-only");
    }, 10_000);
    await k.patch("nodes", undefined, "node-b", { metadata: { labels: { role: "edge" } } });
    await k.setPodStatus("ns2", "db-1", { podIP: "10.244.1.8", podIPs: [{ ip: "10.244.1.8" }] });
    await k.patch("services", "ns2", "db", { spec: { ports: [{ name: "pg", protocol: "TCP", port: 6432, targetPort: 5432 }] } });
    await k.patch("endpointslices", "ns2", "db-xyz", { endpoints: [{ addresses: ["10.244.1.8"], conditions: { ready: true } }] });
    await k.patch("networkpolicies", "ns2", "db-only", { spec: { podSelector: { matchLabels: { app: "db2" } } } });
    await k.patch("namespaces", undefined, "ns2", { metadata: { labels: { team: "data" } } });
    await eventually("the updates", () => {
      const s = src.snapshot();
      return s.nodes.get("node-b")?.labels["role"] === "edge" && s.pods.get("ns2/db-1")?.podIPs[0] === "10.244.1.8" &&
        s.services.get("ns2/db")?.ports[0]?.port === 6432 && s.endpointSlices.get("ns2/db-xyz")?.endpoints[0]?.addresses[0] === "10.244.1.8" &&
        s.networkPolicies.get("ns2/db-only")?.podSelector.matchLabels["app"] === "db2" && s.namespaces.get("ns2")?.labels["team"] === "data";
    }, 10_000);
    await k.delete("networkpolicies", "ns2", "db-only");
    await k.delete("endpointslices", "ns2", "db-xyz");
    await k.delete("services", "ns2", "db");
    await k.delete("pods", "ns2", "db-1");
    await k.delete("nodes", undefined, "node-b");
    await eventually("the deletes", () => {
      const s = src.snapshot();
      return !s.nodes.has("node-b") && !s.pods.has("ns2/db-1") && !s.services.has("ns2/db") && !s.endpointSlices.has("ns2/db-xyz") && !s.networkPolicies.has("ns2/db-only");
    }, 10_000);
    // Then each kind heard an added, a modified and (but namespaces) a deleted change
    const seen = new Set(changes.map((c) => `${c.kind}:${c.type}`));
    for (const kind of KINDS) {
      assert.ok(seen.has(`${kind}:added`), `${kind} added`);
      assert.ok(seen.has(`${kind}:modified`), `${kind} modified`);
      if (kind !== "namespaces") assert.ok(seen.has(`${kind}:deleted`), `${kind} deleted`);
    }
    // And no relist was needed
    assert.deepEqual(Object.values(lists(src)), [1, 1, 1, 1, 1, 1]);
    assert.equal(src.status().error, undefined);
  });
});

test("real apiserver: bookmarks arrive once a kind has moved past the watch's start, and server-ended watches resume without a relist", { skip }, async () => {
  await withSource({}, async (src) => {
    assert.equal(await src.waitSynced(10_000), true, src.status().error);
    // (kube-apiserver's watch cache sends a watcher a bookmark only with a resourceVersion newer than
    //  the one the watch started from: a kind that has not changed since gets none — the double sends them regardless)
    // When each kind keeps changing now and then (a live cluster), with quiet stretches in between
    // (a watch gets its bookmark 2 s before the server ends it, if its kind moved since the watch began)
    let round = 0;
    const touchAll = async () => {
      const touch = { metadata: { labels: { touched: String(++round) } } };
      await k.patch("nodes", undefined, "node-a", touch);
      await k.patch("namespaces", undefined, "ns1", touch);
      await k.patch("pods", "ns1", "web-1", touch);
      await k.patch("services", "ns1", "web", touch);
      await k.patch("endpointslices", "ns1", "web-abcde", touch);
      await k.patch("networkpolicies", "ns1", "deny-web", touch);
    };
    // Then every kind's watch receives a bookmark
    const deadline = Date.now() + 40_000;
    while (!src.details().informers.every((i) => i.bookmarks > 0)) {
      assert.ok(Date.now() < deadline, `no bookmark within 40 s: ${JSON.stringify(src.details().informers.map((i) => [i.kind, i.bookmarks]))}`);
      await touchAll();
      await sleep(3_000);
    }
    // And the watches the server closed at their timeout were re-opened from the resourceVersion: still one list each
    await sleep(11_000);
    assert.deepEqual(Object.values(lists(src)), [1, 1, 1, 1, 1, 1]);
    assert.equal(src.status().error, undefined);
    // And a change after all that is still followed
    await k.create("networkpolicies", networkPolicy("ns1", "late", {}));
    await eventually("the late policy", () => src.snapshot().networkPolicies.has("ns1/late"), 10_000);
    await k.delete("networkpolicies", "ns1", "late");
  });
});

test("real apiserver: quiet kinds' healthy watches are not taken for stalled ones by the watchdog", { skip }, async () => {
  // Given the watchdog at 6 s and the server's default watch lifetime (30–60 min: --min-request-timeout 1800)
  const own = await startRealApiServer();
  try {
    const src = createKubeSource({ kubeconfig: own.kubeconfig(), ...FAST, watchSilenceMs: 6_000 });
    try {
      await src.start();
      assert.equal(await src.waitSynced(10_000), true, src.status().error);
      // When nothing of the six kinds changes for 15 s (the server itself keeps writing its Leases)
      await sleep(15_000);
      // Then no watch was restarted by the watchdog (the watches end cleanly at the timeout the source asks for),
      // and nothing was relisted
      const st = src.details().informers;
      assert.deepEqual(st.map((i) => [i.kind, i.watchdogRestarts]), st.map((i) => [i.kind, 0]));
      assert.deepEqual(Object.values(lists(src)), [1, 1, 1, 1, 1, 1]);
      assert.ok(st.every((i) => i.lastError === undefined));
    } finally {
      await src.stop();
    }
  } finally {
    await own.stop();
  }
});

test("real apiserver: a watch survives a kube-apiserver restart and misses nothing", { skip }, async () => {
  await withSource({}, async (src, _changes, lines) => {
    assert.equal(await src.waitSynced(10_000), true, src.status().error);
    const before = lists(src);
    // When the kube-apiserver process is stopped
    await api!.stopApiServer();
    // Then the source reports the outage in its status, and keeps its snapshot
    await eventually("an error while the server is down", () => /ECONNREFUSED|socket hang up|ECONNRESET/.test(src.status().error ?? ""), 10_000);
    assert.ok(src.snapshot().pods.has("ns1/web-1"));
    // When it is started again and the cluster changes at once
    const ms = await api!.startApiServer();
    console.log(`# real kube-apiserver: restart to /readyz in ${ms} ms`);
    await k.create("pods", pod("ns1", "web-3", { ip: "10.244.0.9" }));
    await k.delete("endpointslices", "ns1", "web-abcde");
    // Then the source catches up, and its error clears
    await eventually("changes after the restart", () => src.snapshot().pods.has("ns1/web-3") && !src.snapshot().endpointSlices.has("ns1/web-abcde"), 20_000, 50);
    await eventually("error cleared", () => src.status().error === undefined, 10_000);
    const relisted = KINDS.filter((kind) => (lists(src)[kind] ?? 0) > (before[kind] ?? 0));
    console.log(`# real kube-apiserver restart: kinds relisted (410 from the new watch cache): ${relisted.join(",") || "none"}; ${lines.filter((l) => /retrying/.test(l)).length} retry lines`);
    // And it still follows changes
    await k.delete("pods", "ns1", "web-3");
    await k.create("endpointslices", endpointSlice("ns1", "web-abcde", "web", ["10.244.0.5"]));
    await eventually("changes after recovery", () => !src.snapshot().pods.has("ns1/web-3") && src.snapshot().endpointSlices.has("ns1/web-abcde"), 10_000);
  });
});

test("real apiserver: 410 Gone for real — etcd compacted past the watches' resourceVersion ⇒ every kind relists and converges", { skip }, async () => {
  // Given a server whose watches are served by etcd (no watch cache) and end every 3–6 s
  const own = await startRealApiServer({ watchCache: false, minRequestTimeoutS: 3 });
  try {
    const c = new RealCluster(own);
    await c.namespace("ns1");
    await c.create("pods", pod("ns1", "a", { ip: "10.244.0.5" }));
    const lines: string[] = [];
    const src = createKubeSource({ kubeconfig: own.kubeconfig(), ...FAST, log: (_l, m) => lines.push(m) });
    try {
      await src.start();
      assert.equal(await src.waitSynced(10_000), true, src.status().error);
      // When the watches are renewed once without a compaction
      await sleep(7_000);
      // Then nothing was relisted (control)
      assert.deepEqual(Object.values(lists(src)), [1, 1, 1, 1, 1, 1]);
      // When etcd's revision moves past every watch (writes to an unwatched kind) and is compacted
      for (let i = 0; i < 5; i++) await c.create("configmaps", { metadata: { namespace: "ns1", name: `bump-${i}` }, data: { i: String(i) } });
      const rev = await own.compact();
      // Then each watch's next renewal is answered 410 Gone, and each kind relists
      await eventually("every kind relisted after the compaction", () => Object.values(lists(src)).every((n) => n >= 2), 20_000, 100);
      // And the server really refuses the old resourceVersion
      const old = await own.request("GET", `/api/v1/pods?watch=1&resourceVersion=${rev - 5}&timeoutSeconds=1`);
      assert.ok(old.status === 410 || (old.status === 200 && /"code":410/.test(JSON.stringify(old.body))), `HTTP ${old.status} ${JSON.stringify(old.body)}`);
      // And the snapshot is still right and followed afterwards; no error was reported
      await c.create("pods", pod("ns1", "b", { ip: "10.244.0.6" }));
      await eventually("pod b", () => src.snapshot().pods.has("ns1/b"), 10_000);
      assert.ok(src.snapshot().pods.has("ns1/a"));
      assert.equal(src.status().error, undefined);
      console.log(`# real 410: compacted at etcd revision ${rev}; lists per kind ${JSON.stringify(lists(src))}`);
    } finally {
      await src.stop();
    }
  } finally {
    await own.stop();
  }
});

// ---- RBAC: deploy/'s ServiceAccount, ClusterRole and binding, created through @kubernetes/client-node

const DEPLOY = join(import.meta.dirname, "../../deploy");
const docsOf = (file: string) => parseAllDocuments(readFileSync(join(DEPLOY, file), "utf8")).map((d) => d.toJS() as KubernetesObject & Record<string, unknown>).filter((d) => d && d.kind);

function objectApi(): KubernetesObjectApi {
  const kc = new KubeConfig();
  kc.loadFromFile(api!.kubeconfig(undefined, "kubeconfig-admin"));
  return KubernetesObjectApi.makeApiClient(kc);
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

test("real apiserver RBAC: with deploy/'s ClusterRole the agent's ServiceAccount syncs; with a verb removed the status names resource and verb", { skip }, async () => {
  const client = objectApi();
  const docs = docsOf("kube-router-daemonset.yaml");
  const rbac = docs.filter((d) => ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"].includes(d.kind!));
  assert.equal(rbac.length, 3);
  // Given deploy/'s ServiceAccount, ClusterRole and binding created on the real server
  for (const d of rbac) await client.create(d);
  const role = rbac.find((d) => d.kind === "ClusterRole") as unknown as KubernetesObject & { rules: Rule[] };
  try {
    // When the source runs with the ServiceAccount's token
    await withSource({ token: api!.agentToken }, async (src) => {
      // Then it syncs every kind with no error
      assert.equal(await src.waitSynced(10_000), true, src.status().error);
      assert.equal(src.status().error, undefined);
      assert.ok(src.snapshot().pods.has("ns1/web-1"));
    });

    for (const verb of ["watch", "list"]) {
      // When the role loses one verb on one resource (networkpolicies)
      const rules = role.rules.map((r) => (r.resources.includes("networkpolicies") ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r));
      const current = await client.read({ apiVersion: role.apiVersion!, kind: "ClusterRole", metadata: { name: role.metadata!.name! } });
      await client.replace({ ...current, rules } as KubernetesObject);
      // (RBAC changes reach the authorizer through its informer: wait until the server enforces it)
      await waitForbidden(verb);
      await withSource({ token: api!.agentToken }, async (src, _c, lines) => {
        // Then the source reports one line naming the resource and the verb; the other kinds sync; nothing throws
        const want = verb === "list"
          ? /networkPolicies: list \/apis\/networking\.k8s\.io\/v1\/networkpolicies: HTTP 403 Forbidden: networkpolicies\.networking\.k8s\.io is forbidden: User "system:serviceaccount:kube-system:kube-router" cannot list resource "networkpolicies"/
          : /networkPolicies: watch \/apis\/networking\.k8s\.io\/v1\/networkpolicies: HTTP 403 Forbidden/;
        await eventually(`an error naming ${verb} networkpolicies`, () => want.test(src.status().error ?? ""), 10_000);
        const err = src.status().error!;
        assert.equal(err.split("\n").length, 1, err);
        assert.doesNotMatch(err, /more kinds failing/);
        assert.ok(lines.some((l) => want.test(l)), "the same line is logged");
        const others = () => src.details().informers.filter((i) => i.kind !== "networkPolicies");
        await eventually("the other five kinds listed", () => others().every((i) => i.listed && i.lastError === undefined), 10_000);
        console.log(`# RBAC without ${verb}: synced=${src.status().synced}: ${err}`);
      });
      await client.replace({ ...(await client.read({ apiVersion: role.apiVersion!, kind: "ClusterRole", metadata: { name: role.metadata!.name! } })), rules: role.rules } as KubernetesObject);
    }
  } finally {
    for (const d of [...rbac].reverse()) await client.delete(d).catch(() => undefined);
  }
});

/** Polls the server as the agent until `verb` on networkpolicies is refused (RBAC updates are eventually consistent). */
async function waitForbidden(verb: string): Promise<void> {
  const q = verb === "watch" ? "?watch=1&timeoutSeconds=1" : "";
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await api!.request("GET", `/apis/networking.k8s.io/v1/networkpolicies${q}`, undefined, api!.agentToken);
    if (r.status === 403) return;
    if (Date.now() > deadline) throw new Error(`${verb} networkpolicies still allowed (HTTP ${r.status})`);
    await sleep(100);
  }
}

// ---- Every manifest in deploy/ passes the real server's validation

test("real apiserver: every manifest in deploy/ is accepted by the server's strict validation (DaemonSet as dry-run=All)", { skip }, async () => {
  const files = ["kube-router-daemonset.yaml", "kube-router-dry-run.yaml", "example/cluster.yaml"];
  const pathFor = (d: Record<string, unknown>) => {
    const [group, version] = String(d["apiVersion"]).includes("/") ? String(d["apiVersion"]).split("/") : ["", String(d["apiVersion"])];
    const plural = `${String(d["kind"]).toLowerCase()}s`.replace(/ys$/, "ies");
    const ns = (d["metadata"] as { namespace?: string }).namespace;
    return `${group ? `/apis/${group}` : "/api"}/${version}${ns ? `/namespaces/${ns}` : ""}/${plural}`;
  };
  let accepted = 0;
  for (const file of files) {
    // Given each document as written (a List's items one by one)
    const docs = docsOf(file).flatMap((d) => (d.kind === "List" ? (d["items"] as (KubernetesObject & Record<string, unknown>)[]) : [d]));
    const created: string[] = [];
    try {
      for (const d of docs) {
        const ns = d.metadata?.namespace;
        if (ns && (await api!.request("GET", `/api/v1/namespaces/${ns}`)).status === 404) {
          await k.namespace(ns);
          created.push(`/api/v1/namespaces/${ns}`);
        } else if (ns && (await api!.request("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 404) {
          // no controller-manager here: pods need their namespace's default ServiceAccount made by hand
          await k.create("serviceaccounts", { metadata: { namespace: ns, name: "default" } });
          created.push(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
        }
        // When it is created with fieldValidation=Strict (workloads as dry-run=All: nothing would run them)
        const dry = d.kind === "DaemonSet" || d.kind === "Deployment";
        const path = pathFor(d);
        // (an object the server made itself, like Namespace default, is validated by a dry-run server-side apply)
        const exists = (await api!.request("GET", `${path}/${d.metadata!.name}`)).status === 200;
        const r = exists
          ? await api!.request("PATCH", `${path}/${d.metadata!.name}?fieldValidation=Strict&dryRun=All&fieldManager=krt-test&force=true`, d, undefined, "application/apply-patch+yaml")
          : await api!.request("POST", `${path}?fieldValidation=Strict${dry ? "&dryRun=All" : ""}`, d);
        // Then the server accepts it
        assert.equal(r.status, exists ? 200 : 201, `${file}: ${d.kind}/${d.metadata?.name}: HTTP ${r.status} ${String(r.body["message"])}`);
        accepted++;
        if (!dry && !exists) created.unshift(`${path}/${d.metadata!.name}`);
      }
    } finally {
      for (const c of created) await api!.request("DELETE", c, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 });
    }
  }
  assert.ok(accepted >= 12, `${accepted} documents`);
  // And the check can fail: an unknown field in the DaemonSet is refused
  const ds = docsOf("kube-router-daemonset.yaml").find((d) => d.kind === "DaemonSet")!;
  const bad = { ...ds, spec: { ...(ds["spec"] as object), replicas: 2 } };
  const r = await api!.request("POST", `${pathFor(ds)}?fieldValidation=Strict&dryRun=All`, bad);
  assert.equal(r.status, 400);
  assert.match(String(r.body["message"]), /unknown field "spec.replicas"/);
});
