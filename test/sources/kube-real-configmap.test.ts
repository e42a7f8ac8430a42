/**
 * deploy/'s RBAC for the route extender against the real kube-apiserver (v1.34, RBAC
 * authorizer), as deploy/'s ServiceAccount: its ConfigMap kube-system/kube-chorus-router may be
 * listed and watched by fieldSelector (the API source), read, created, replaced and patched
 * (apply/kube-configmap); any other ConfigMap in kube-system may not be read, written or listed;
 * its Lease kube-router-route-extender (and the allocator's) may be created, read and renewed,
 * any other Lease not.
 *
 * Found on v1.34: a `resourceNames` rule authorizes list and watch when the request carries
 * `fieldSelector=metadata.name=<that name>` (the server derives the request's name from it);
 * without the selector the same list is 403.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { kubeConfigMapApi } from "../../src/apply/kube-configmap/client.ts";
import { leaseApi } from "../../src/apply/kube-status/lease.ts";
import { createKubeSource, loadKubeConfig } from "../../src/sources/kube/index.ts";
import { kubeHttp } from "../../src/sources/kube/request.ts";
import { configMap, eventually, sleep } from "../support/kube-api-double/index.ts";
import { type RealApiServer, apiserverSkip, startRealApiServer } from "../support/apiserver/index.ts";
import { RealCluster } from "../support/apiserver/cluster.ts";

const skip = apiserverSkip;
const NS = "kube-system";
const NAME = "kube-chorus-router";
const CM = `/api/v1/namespaces/${NS}/configmaps`;
let api: RealApiServer | undefined;

const kcOf = (token: string, name: string): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromFile(api!.kubeconfig(token, name));
  return kc;
};
/** The agent's own connection (src/sources/kube) with `token`. */
const connOf = (token: string, name: string) => loadKubeConfig({ kubeconfig: api!.kubeconfig(token, name) });

before(async () => {
  if (skip) return;
  api = await startRealApiServer();
  console.log(`# real kube-apiserver ready in ${api.startupMs} ms`);
  // Given deploy/'s ServiceAccount, Roles and RoleBindings, and a foreign ConfigMap in kube-system
  const docs = parseAllDocuments(readFileSync(join(import.meta.dirname, "../../deploy/kube-router-daemonset.yaml"), "utf8"))
    .map((d) => d.toJS() as KubernetesObject).filter((d) => ["ServiceAccount", "Role", "RoleBinding"].includes(d?.kind ?? ""));
  assert.equal(docs.length, 5);
  const admin = KubernetesObjectApi.makeApiClient(kcOf(api.adminToken, "kubeconfig-admin"));
  for (const d of docs) await admin.create(d);
  await new RealCluster(api).create("configmaps", configMap(NS, "other", { x: "1" }));
  // (RBAC reaches the authorizer through its informer: wait until the agent may read its ConfigMap)
  const deadline = Date.now() + 10_000;
  while ((await api.request("GET", `${CM}/${NAME}`, undefined, api.agentToken)).status === 403) {
    if (Date.now() > deadline) throw new Error("deploy/'s Role never took effect");
    await sleep(100);
  }
});

after(async () => {
  await api?.stop();
});

test("real apiserver RBAC: deploy/'s ServiceAccount creates, reads, replaces and patches its ConfigMap, and the API source lists+watches it by fieldSelector", { skip }, async () => {
  const kc = connOf(api!.agentToken, "kubeconfig-agent");
  const cms = kubeConfigMapApi(kubeHttp(kc));
  assert.equal(await cms.get(NS, NAME), undefined);
  assert.equal(await cms.create(NS, NAME, { "node-a": "1" }), "ok");
  const read = (await cms.get(NS, NAME))!;
  assert.deepEqual(read.data, { "node-a": "1" });
  assert.equal(await cms.update(NS, NAME, { "node-a": "2" }, read.resourceVersion), "ok");
  assert.equal(await cms.update(NS, NAME, { "node-a": "3" }, read.resourceVersion), "conflict");
  assert.equal((await api!.request("PATCH", `${CM}/${NAME}`, { data: { "node-b": "4" } }, api!.agentToken)).status, 200);
  // list and watch with the fieldSelector are allowed; the API source syncs on them as the agent
  const sel = `fieldSelector=${encodeURIComponent(`metadata.name=${NAME}`)}`;
  assert.equal((await api!.request("GET", `${CM}?${sel}`, undefined, api!.agentToken)).status, 200);
  assert.equal((await api!.request("GET", `${CM}?${sel}&watch=1&timeoutSeconds=1`, undefined, api!.agentToken)).status, 200);
  const src = createKubeSource({ kubeConfig: kc, kinds: [], watchSilenceMs: 0, configMaps: [{ namespace: NS, name: NAME }] });
  try {
    await src.start();
    assert.equal(await src.waitSynced(10_000), true, src.status().error);
    assert.deepEqual(src.snapshot().configMaps?.get(`${NS}/${NAME}`)?.data, { "node-a": "2", "node-b": "4" });
    await new RealCluster(api!).patch("configmaps", NS, NAME, { data: { "node-a": null } });
    await eventually("the watch brings the change", () => src.snapshot().configMaps?.get(`${NS}/${NAME}`)?.data["node-a"] === undefined, 10_000);
    assert.equal(src.status().error, undefined);
  } finally {
    await src.stop();
  }
});

test("real apiserver RBAC: deploy/'s ServiceAccount may not read, write or list another ConfigMap in kube-system, nor list without the fieldSelector", { skip }, async () => {
  const cms = kubeConfigMapApi(kubeHttp(connOf(api!.agentToken, "kubeconfig-agent2")));
  await assert.rejects(cms.get(NS, "other"), /^Error: get ConfigMap kube-system\/other: HTTP 403 Forbidden: configmaps "other" is forbidden: User "system:serviceaccount:kube-system:kube-router" cannot get resource "configmaps"/);
  await assert.rejects(cms.update(NS, "other", {}, "1"), /^Error: update ConfigMap kube-system\/other: HTTP 403 .*cannot update resource "configmaps"/);
  const as = (method: string, path: string, body?: unknown) => api!.request(method, path, body, api!.agentToken).then((r) => r.status);
  assert.equal(await as("PATCH", `${CM}/other`, { data: { x: "2" } }), 403);
  assert.equal(await as("GET", CM), 403);
  assert.equal(await as("GET", `${CM}?fieldSelector=${encodeURIComponent("metadata.name=other")}`), 403);
  assert.equal(await as("GET", `/api/v1/namespaces/default/configmaps/${NAME}`), 403, "only in kube-system");
});

test("real apiserver RBAC: deploy/'s ServiceAccount takes and renews the route extender's Lease (and the allocator's), but may not read another Lease", { skip }, async () => {
  const coord = kubeHttp(connOf(api!.agentToken, "kubeconfig-agent3"));
  for (const name of ["kube-router-route-extender", "kube-router-lballoc"]) {
    const l = leaseApi(coord, NS, name);
    assert.equal(await l.read(), undefined);
    const rec = { holderIdentity: "node-a", leaseDurationSeconds: 15, acquireTime: new Date().toISOString(), renewTime: new Date().toISOString(), leaseTransitions: 0 };
    assert.equal(await l.write(rec, undefined), "ok");
    const cur = (await l.read())!;
    assert.equal(await l.write({ ...rec, renewTime: new Date().toISOString() }, cur.resourceVersion), "ok");
  }
  await assert.rejects(leaseApi(coord, NS, "someone-else").read(), /^Error: read kube-system\/someone-else: HTTP 403 Forbidden: /);
});
