/**
 * The table registry is the one declaration of every table: these checks fail when a table
 * lacks a driver (real and fake), a dry-run printer (its driver's script text) or a golden
 * printer, or when a derived value (empty state, empty plan) misses one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePlan } from "../src/agent/engine.ts";
import { REAL_DRIVERS } from "../src/agent/drivers.ts";
import { STATE_TEXTS } from "../src/agent/state-text.ts";
import { emptyPlan, type NodePlan } from "../src/model/plan.ts";
import { CONTROLLER_NAMES } from "../src/model/ownership.ts";
import { type Row, TABLES, TABLE_NAMES, type TableName, tableSpec, tablesOfDriver } from "../src/model/registry.ts";
import { buildNodeState, emptyNodeState } from "../src/model/state.ts";
import { fakeNode } from "./support/fake-node.ts";

/** One sample row per table (a table added to the registry must add one here: compile error otherwise). */
const SAMPLE: { readonly [K in TableName]: Row<K> } = {
  sysctls: { path: "net/ipv4/ip_forward", value: "1" },
  files: { path: "/etc/cni/net.d/10-kuberouter.conflist", content: "{}\n", mode: 0o644 },
  links: { name: "kube-bridge", kind: "bridge", up: true },
  addresses: { dev: "kube-dummy-if", cidr: "10.96.0.10/32" },
  routes: { family: "ipv4", table: "main", dst: "10.244.2.0/24", via: "10.250.0.12", proto: "17" },
  rules: { family: "ipv4", priority: 32765, selector: "from 10.244.1.0/24", table: "77" },
  neighbors: { dev: "kube-vxlan", ip: "10.244.3.0", family: "ipv4", lladdr: "0a:11:22:33:44:55", state: "permanent" },
  fouPorts: { family: "ipv4", port: 5555 },
  fdb: { dev: "kube-vxlan", mac: "0a:11:22:33:44:55", dst: "10.250.2.13", self: true, state: "permanent" },
  ipsets: { name: "kube-router-node-ips", type: "hash:ip", family: "inet", timeout: 0, members: new Set(["10.250.0.11"]) },
  chains: { family: "ipv4", table: "filter", name: "KUBE-ROUTER-INPUT", rules: ["-j RETURN"] },
  jumps: { family: "ipv4", table: "filter", chain: "INPUT", comment: "kube-router netpol - X", rule: `-m comment --comment "kube-router netpol - X" -j KUBE-ROUTER-INPUT`, position: 1 },
  ipvsServices: { family: "ipv4", protocol: "tcp", address: "10.96.0.10", port: 80, scheduler: "rr", flags: [] },
  ipvsReals: { service: "tcp/10.96.0.10/80", address: "10.244.2.5", port: 8080, weight: 1, forward: "masq" },
  ipvsTimeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  healthChecks: { namespace: "default", name: "web", port: 32000, localEndpoints: 1 },
  dsrTunnels: { pod: "default/web-1", podIp: "10.244.1.5", vip: "198.51.100.30", family: "ipv4", containerId: "containerd://abc" },
  bgpGlobal: { asn: 64512, routerId: "10.250.0.11", listenPort: 179, listenAddresses: ["10.250.0.11"] },
  bgpDefinedSets: { type: "prefix", name: "podcidrdefinedset", list: [], prefixes: [{ prefix: "10.244.1.0/24", maskLengthMin: 24, maskLengthMax: 24 }] },
  bgpPolicies: { name: "kube_router_export", statements: [{ name: "s1", conditions: { prefixSet: { name: "podcidrdefinedset", match: "any" } }, actions: { route: "accept" } }] },
  bgpAssignments: { direction: "export", policies: ["kube_router_export"], defaultAction: "reject" },
  bgpPaths: { family: "ipv4", prefix: "10.244.1.0/24", nextHop: "10.250.0.11", communities: [] },
  bgpPeers: { kind: "ibgp", neighborAddress: "10.250.0.12", peerAsn: 64512, port: 179, holdTime: 90, keepaliveInterval: 30, connectRetry: 5, families: ["ipv4-unicast"] },
  lbStatus: { namespace: "default", name: "web", ingress: ["198.51.100.1"], resourceVersion: "7", current: [] },
  configMapKeys: { namespace: "kube-system", name: "kube-chorus-router", key: "EndpointIP", value: "192.168.254.254", writer: "leader" },
};

const planWith = <K extends TableName>(table: K): NodePlan => {
  const row: Row<K> = SAMPLE[table];
  return { ...emptyPlan(), [table]: [{ op: "create", key: tableSpec(table).key(row), after: row }] };
};

test("registry: the table list, empty state and empty plan hold exactly the declared tables", () => {
  assert.deepEqual([...TABLE_NAMES], Object.keys(TABLES));
  assert.deepEqual(Object.keys(emptyNodeState()).sort(), [...TABLE_NAMES].sort());
  assert.deepEqual(Object.keys(emptyPlan()).filter((k) => k !== "ipsetMembers").sort(), [...TABLE_NAMES].sort());
});

test("registry: every table has a real driver and a fake driver of its family, and that driver applies it", () => {
  const fakes = fakeNode({ interfaces: [], cniConf: { path: "/cni/x.conf" } }).deps.drivers;
  for (const t of TABLE_NAMES) {
    const family = TABLES[t].driver;
    assert.ok(family in REAL_DRIVERS, `table ${t}: no real driver for family ${family}`);
    const fake = fakes.find((d) => d.name === family);
    assert.ok(fake, `table ${t}: no fake driver for family ${family}`);
    assert.ok(fake.tables.includes(t), `table ${t}: driver ${family} does not list it`);
    assert.ok(tablesOfDriver(family).includes(t));
  }
  for (const d of fakes) for (const t of d.tables) assert.equal(TABLES[t].driver, d.name, `driver ${d.name} claims table ${t} of ${TABLES[t].driver}`);
});

test("registry: every table has a dry-run printer (a one-row plan compiles to a script of its driver)", () => {
  const drivers = fakeNode({ interfaces: [], cniConf: { path: "/cni/x.conf" } }).deps.drivers;
  for (const t of TABLE_NAMES) {
    const scripts = compilePlan(drivers, planWith(t));
    assert.ok(scripts.length > 0 && scripts.every((s) => s.driver === TABLES[t].driver && s.text.trim() !== ""), `table ${t}: no dry-run text`);
  }
});

test("registry: every table has exactly one golden printer, and its text shows the table's rows", () => {
  const full = buildNodeState((t) => new Map([[tableSpec(t).key(SAMPLE[t]), SAMPLE[t]]]));
  for (const t of TABLE_NAMES) {
    const printers = STATE_TEXTS.filter((p) => p.tables.includes(t));
    assert.equal(printers.length, 1, `table ${t}: ${printers.length} golden printers`);
    const without = { ...full, [t]: new Map() };
    assert.notEqual(printers[0]!.text(full), printers[0]!.text(without), `table ${t}: golden printer ignores it`);
  }
});

test("registry: owners name known controllers only", () => {
  for (const t of TABLE_NAMES) for (const c of Object.keys(TABLES[t].owners)) assert.ok((CONTROLLER_NAMES as readonly string[]).includes(c), `table ${t}: unknown owner ${c}`);
});
