/**
 * The deploy manifests and Dockerfile: the fields the agent relies on, and RBAC exactly
 * matching what the Kubernetes source calls (list + watch on the kinds of
 * src/sources/kube/kinds.ts, nothing else).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseFlags } from "../src/agent/flags.ts";
import { KINDS } from "../src/sources/kube/kinds.ts";

const ROOT = join(import.meta.dirname, "..");
type Obj = Record<string, any>;

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(join(ROOT, file), "utf8"));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return docs.map((d) => d.toJS() as Obj);
}
const byKind = (docs: Obj[], kind: string): Obj => {
  const found = docs.filter((d) => d["kind"] === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

/**
 * (apiGroup, resource) → verbs the source uses, from the source's own kind table; the agent
 * variant adds the LoadBalancer status driver's calls (apply/kube-status/client.ts: read a
 * Service, replace its status; apply/kube-status/events.ts: create Warning Events on Services,
 * patch granted for a recorder's count updates).
 */
function usedRules(variant: "agent" | "dry-run"): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const spec of Object.values(KINDS)) {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([a-z]+)$/.exec(spec.path);
    assert.ok(m, `path ${spec.path}`);
    out.set(`${m[1] ?? ""}/${m[2]}`, ["list", "watch"]);
  }
  if (variant === "agent") {
    out.set("/services", ["get", "list", "watch"]);
    out.set("/services/status", ["update"]);
    out.set("/events", ["create", "patch"]);
  }
  return out;
}
function grantedRules(role: Obj): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of role["rules"] as Obj[]) {
    for (const g of r["apiGroups"] as string[]) for (const res of r["resources"] as string[]) {
      const key = `${g}/${res}`;
      assert.ok(!out.has(key), `${key} granted twice`);
      out.set(key, [...(r["verbs"] as string[])].sort());
    }
  }
  return out;
}

for (const [file, variant] of [["deploy/kube-router-daemonset.yaml", "agent"], ["deploy/kube-router-dry-run.yaml", "dry-run"]] as const) {
  test(`deploy ${variant}: RBAC grants exactly the verbs the Kubernetes source uses`, () => {
    const docs = load(file);
    const role = byKind(docs, "ClusterRole");
    assert.deepEqual(Object.fromEntries(grantedRules(role)), Object.fromEntries(usedRules(variant)));
    // the Leases (apply/kube-status/lease.ts: read, create, replace) of the allocator and the route
    // extender, and the extender's ConfigMap (apply/kube-configmap: get, create, replace; the
    // source's list + watch by fieldSelector; patch), each by name but create (not restrictable)
    const roles = docs.filter((d) => d["kind"] === "Role");
    if (variant === "agent") {
      const rulesOf = (name: string) => roles.find((r) => r["metadata"]["name"] === name)?.["rules"];
      assert.deepEqual(roles.map((r) => r["metadata"]["name"]).sort(), ["kube-router-leases", "kube-router-route-extender"]);
      assert.deepEqual(rulesOf("kube-router-leases"), [
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["kube-router-lballoc", "kube-router-route-extender"], verbs: ["get", "update"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      ]);
      assert.deepEqual(rulesOf("kube-router-route-extender"), [
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["kube-chorus-router"], verbs: ["get", "list", "watch", "update", "patch"] },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
      ]);
      const bindings = docs.filter((d) => d["kind"] === "RoleBinding");
      assert.deepEqual(bindings.map((b) => b["roleRef"]["name"]).sort(), roles.map((r) => r["metadata"]["name"]).sort());
      for (const b of bindings) {
        assert.deepEqual(b["roleRef"]["kind"], "Role");
        assert.deepEqual(b["subjects"], [{ kind: "ServiceAccount", name: "kube-router", namespace: "kube-system" }]);
      }
      for (const r of [...roles, ...bindings]) assert.equal(r["metadata"]["namespace"], "kube-system");
    } else assert.equal(roles.length, 0, "dry-run writes nothing and takes no Lease");
    // And the binding ties that role to the DaemonSet's service account
    const sa = byKind(docs, "ServiceAccount");
    const crb = byKind(docs, "ClusterRoleBinding");
    const ds = byKind(docs, "DaemonSet");
    assert.deepEqual(crb["roleRef"], { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role["metadata"]["name"] });
    assert.deepEqual(crb["subjects"], [{ kind: "ServiceAccount", name: sa["metadata"]["name"], namespace: "kube-system" }]);
    assert.equal(ds["spec"]["template"]["spec"]["serviceAccountName"], sa["metadata"]["name"]);
    assert.equal(sa["metadata"]["namespace"], "kube-system");
  });

  test(`deploy ${variant}: the DaemonSet runs node directly with flags the agent accepts, on the host network`, () => {
    const ds = byKind(load(file), "DaemonSet");
    assert.equal(ds["metadata"]["namespace"], "kube-system");
    const pod = ds["spec"]["template"]["spec"] as Obj;
    assert.deepEqual(ds["spec"]["selector"]["matchLabels"], Object.fromEntries(Object.entries(ds["spec"]["template"]["metadata"]["labels"]).filter(([k]) => k in ds["spec"]["selector"]["matchLabels"])));
    assert.equal(pod["hostNetwork"], true);
    assert.equal(pod["priorityClassName"], "system-node-critical");
    assert.deepEqual(pod["tolerations"], [
      { effect: "NoSchedule", operator: "Exists" },
      { key: "CriticalAddonsOnly", operator: "Exists" },
      { effect: "NoExecute", operator: "Exists" },
    ]);
    const [c] = pod["containers"] as Obj[];
    assert.deepEqual(c!["command"], ["node", "/app/dist/agent/main.js"], "node directly: npm/npx do not forward SIGTERM");
    const env = Object.fromEntries((c!["env"] as Obj[]).map((e) => [e["name"], e]));
    assert.deepEqual(env["NODE_NAME"]["valueFrom"], { fieldRef: { fieldPath: "spec.nodeName" } });
    // the V8 heap is capped (issue 15): L converges under 340 MiB, the cap leaves 1.3× that
    assert.equal(env["NODE_OPTIONS"]?.["value"], "--max-old-space-size=448");
    // The args parse with our own flag parser, and say what the probes expect
    const parsed = parseFlags(c!["args"] as string[], { NODE_NAME: "n1", KUBE_ROUTER_CNI_CONF_FILE: env["KUBE_ROUTER_CNI_CONF_FILE"]?.["value"] });
    assert.ok("config" in parsed, "error" in parsed ? parsed.error : "");
    const cfg = parsed.config;
    assert.equal(cfg.dryRun, variant === "dry-run");
    assert.equal(cfg.once, false, "a DaemonSet runs the long-lived agent");
    assert.equal(cfg.snapshot, undefined, "reads the API server");
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      assert.deepEqual(c![probe]["httpGet"], { path: "/healthz", port: cfg.healthPort }, probe);
    }
    if (variant === "agent") assert.equal(cfg.healthPort, 20244, "upstream's health port");
    if (cfg.metricsPort > 0) {
      const ann = ds["spec"]["template"]["metadata"]["annotations"] ?? {};
      assert.equal(ann["prometheus.io/port"], String(cfg.metricsPort));
      assert.equal(ann["prometheus.io/path"], cfg.metricsPath);
    }
    // Mounts: modules, CNI config dir (holding the CNI file we manage), the xtables lock
    const mounts = Object.fromEntries((c!["volumeMounts"] as Obj[]).map((m) => [m["mountPath"], m]));
    const vols = Object.fromEntries((pod["volumes"] as Obj[]).map((v) => [v["name"], v]));
    const hostPathOf = (mountPath: string) => vols[mounts[mountPath]?.["name"]]?.["hostPath"];
    assert.deepEqual(hostPathOf("/lib/modules"), { path: "/lib/modules" });
    assert.equal(mounts["/lib/modules"]["readOnly"], true);
    assert.deepEqual(hostPathOf("/etc/cni/net.d"), { path: "/etc/cni/net.d" });
    assert.deepEqual(hostPathOf("/run/xtables.lock"), { path: "/run/xtables.lock", type: "FileOrCreate" });
    assert.ok(cfg.cniConfFile.startsWith("/etc/cni/net.d/"), cfg.cniConfFile);
    if (variant === "agent") {
      assert.equal(c!["securityContext"]["privileged"], true);
      assert.equal(mounts["/etc/cni/net.d"]["readOnly"] ?? false, false, "the agent writes the CNI config");
    } else {
      assert.equal(c!["securityContext"]["privileged"], false);
      assert.deepEqual(c!["securityContext"]["capabilities"], { add: ["NET_ADMIN", "NET_RAW"] });
      assert.equal(mounts["/etc/cni/net.d"]["readOnly"], true, "dry-run only reads");
    }
  });
}

test("deploy: the agent and its dry-run variant can run side by side (different names and health ports)", () => {
  const a = byKind(load("deploy/kube-router-daemonset.yaml"), "DaemonSet");
  const d = byKind(load("deploy/kube-router-dry-run.yaml"), "DaemonSet");
  assert.notEqual(a["metadata"]["name"], d["metadata"]["name"]);
  const port = (ds: Obj) => ds["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"];
  assert.notEqual(port(a), port(d));
});

test("Dockerfile: Node 20 runtime with the kernel tools, running node on the built CLI", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  // Node 20 stages, plus one Go builder stage for GoBGP v4 (built from its Go module)
  assert.ok(froms.length >= 1 && /^node:20[-.]/.test(froms.at(-1)!), froms.join(", "));
  assert.ok(froms.every((f) => /^node:20[-.]/.test(f) || /^golang:/.test(f)), froms.join(", "));
  const install = /apt-get install[^\n]*(?:\\\n[^\n]*)*/.exec(text)?.[0] ?? "";
  for (const pkg of ["iptables", "ipset", "ipvsadm", "iproute2", "conntrack"]) assert.match(install, new RegExp(`\\b${pkg}\\b`), pkg);
  assert.match(text, /go install .*github\.com\/osrg\/gobgp\/v4\/cmd\/gobgpd@v4\.8\.0/s);
  assert.match(text, /^COPY --from=gobgp \/out\/gobgpd \/out\/gobgp \/usr\/local\/bin\/$/m);
  assert.match(text, /^ENTRYPOINT \["node", "\/app\/dist\/agent\/main\.js"\]$/m);
  const ds = byKind(load("deploy/kube-router-daemonset.yaml"), "DaemonSet");
  assert.deepEqual(ds["spec"]["template"]["spec"]["containers"][0]["command"], ["node", "/app/dist/agent/main.js"], "the manifest runs what the image holds");
});

test("deploy: the example cluster is still there, untouched in shape", () => {
  const [list] = load("deploy/example/cluster.yaml");
  assert.equal(list!["kind"], "List");
});
