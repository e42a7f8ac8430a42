import { test } from "node:test";
import assert from "node:assert/strict";
import { FLAGS, parseFlags, parseGoDuration, usage } from "../../src/agent/flags.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { UPSTREAM_DEFAULTS, fieldOf } from "../support/upstream-flags.ts";

function ok(argv: string[], env: Record<string, string | undefined> = {}): NodeConfig {
  const r = parseFlags(argv, env);
  if ("error" in r) assert.fail(`unexpected error: ${r.error}`);
  return r.config;
}
function err(argv: string[], env: Record<string, string | undefined> = {}): string {
  const r = parseFlags(argv, env);
  if ("config" in r) assert.fail(`expected an error for ${argv.join(" ")}`);
  return r.error;
}

test("no arguments give upstream's defaults", () => {
  // Given no argv and no env / When parsed / Then DEFAULT_CONFIG exactly
  assert.deepEqual(ok([]), DEFAULT_CONFIG);
});

test("every upstream flag is accepted under its own name, mapped to its field", () => {
  // Given the flag table and upstream's flag list
  const names = new Set(FLAGS.map((f) => f.name));
  for (const flag of Object.keys(UPSTREAM_DEFAULTS)) {
    // Then each upstream flag exists and sets the field named by the camelCase rule
    assert.ok(names.has(flag), `missing --${flag}`);
    assert.equal(FLAGS.find((f) => f.name === flag)?.key, fieldOf(flag), `--${flag}`);
  }
  // And every NodeConfig field is reachable from some flag (env-only ones excepted)
  const keys = new Set(FLAGS.map((f) => f.key as string));
  for (const k of Object.keys(DEFAULT_CONFIG)) if (k !== "cniConfFile") assert.ok(keys.has(k), `no flag sets ${k}`);
  for (const k of ["snapshot", "stateDir"]) assert.ok(keys.has(k), k);
  // And flags not in upstream are marked as ours
  for (const f of FLAGS) assert.equal(f.ours === true, !(f.name in UPSTREAM_DEFAULTS), f.name);
});

test("--flag=value and --flag value", () => {
  // Given both spellings / Then the same config
  assert.equal(ok(["--hostname-override=node-1"]).hostnameOverride, "node-1");
  assert.equal(ok(["--hostname-override", "node-1"]).hostnameOverride, "node-1");
  assert.equal(ok(["--metrics-path="]).metricsPath, "");
  // And a value that looks like a flag is still taken as the value (pflag)
  assert.equal(ok(["--hostname-override", "--weird"]).hostnameOverride, "--weird");
});

test("booleans never consume the next argument", () => {
  // Given boolean flags in every spelling
  assert.equal(ok(["--run-router"]).runRouter, true);
  assert.equal(ok(["--run-router=false"]).runRouter, false);
  assert.equal(ok(["--run-router=0"]).runRouter, false);
  assert.equal(ok(["--enable-ipv6=True"]).enableIpv6, true);
  assert.equal(ok(["--advertise-cluster-ip", "--hairpin-mode"]).hairpinMode, true);
  // When a value follows with a space / Then it is a positional argument, rejected with advice
  assert.equal(
    err(["--run-router", "false"]),
    'unexpected argument "false": kube-router takes no positional arguments (write booleans as --flag=false)',
  );
  assert.equal(err(["--run-router=yes"]), 'invalid value "yes" for --run-router: not a boolean (use true or false)');
});

test("shorthands: -v 2, --v=2, -v2, -v=2, -h, -V, -o json, -ojson, -hV", () => {
  assert.equal(ok(["-v", "2"]).v, 2);
  assert.equal(ok(["--v=2"]).v, 2);
  assert.equal(ok(["--v", "3"]).v, 3);
  assert.equal(ok(["-v2"]).v, 2);
  assert.equal(ok(["-v=4"]).v, 4);
  assert.equal(ok(["-h"]).help, true);
  assert.equal(ok(["-V"]).version, true);
  assert.equal(ok(["-o", "json"]).output, "json");
  assert.equal(ok(["-ojson"]).output, "json");
  assert.equal(ok(["--output=json"]).output, "json");
  const both = ok(["-hV"]);
  assert.equal(both.help && both.version, true);
  assert.equal(err(["-x"]), "unknown shorthand flag: 'x' in -x");
  assert.equal(err(["-v"]), "flag needs an argument: 'v' in -v");
  assert.equal(err(["-v", "two"]), 'invalid value "two" for -v: not an integer');
  assert.equal(err(["-o", "yaml"]), 'invalid value "yaml" for -o: must be one of text, json');
});

test("unknown flags and missing arguments name the flag", () => {
  assert.equal(err(["--foo"]), "unknown flag: --foo");
  assert.equal(err(["--foo=bar"]), "unknown flag: --foo");
  assert.equal(err(["--hostname-override"]), "flag needs an argument: --hostname-override");
  assert.equal(err(["--run-router", "--ipvs-sync-period"]), "flag needs an argument: --ipvs-sync-period");
});

test("slices: repeated flags append, comma lists split, the first use replaces the default", () => {
  // Given the default cluster range / When given twice / Then only the given ones remain, in order
  assert.deepEqual(
    ok(["--service-cluster-ip-range=10.96.0.0/16", "--service-cluster-ip-range", "fd00::/112", "--enable-ipv6"]).serviceClusterIpRange,
    ["10.96.0.0/16", "fd00::/112"],
  );
  assert.deepEqual(
    ok(["--peer-router-ips=10.0.0.1,10.0.0.2", "--peer-router-asns=65001", "--peer-router-asns", "65002"]).peerRouterAsns,
    [65001, 65002],
  );
  assert.deepEqual(ok(["--peer-router-ips= 10.0.0.1", "--peer-router-asns=65001"]).peerRouterIps, ["10.0.0.1"]);
  assert.deepEqual(ok(["--excluded-cidrs="]).excludedCidrs, []);
  assert.deepEqual(
    ok(["--peer-router-ips=10.0.0.1,10.0.0.2,10.0.0.3", "--peer-router-asns=65001,65002,65003", "--peer-router-passwords=cGFzcw==,,cGFzcw=="]).peerRouterPasswords,
    ["cGFzcw==", "", "cGFzcw=="],
  );
  assert.equal(err(["--peer-router-ips=10.0.0.1,nope"]), 'invalid value "10.0.0.1,nope" for --peer-router-ips: invalid string being converted to IP address: nope');
  assert.equal(err(["--peer-router-asns=65001,x"]), 'invalid value "65001,x" for --peer-router-asns: item "x": not an unsigned integer');
  // And the defaults are not mutated by parsing
  assert.deepEqual(DEFAULT_CONFIG.serviceClusterIpRange, ["10.96.0.0/12"]);
});

test("Go durations", () => {
  // Given Go duration texts / When parsed / Then milliseconds
  const cases: [string, number][] = [
    ["5m0s", 300000], ["1m", 60000], ["30s", 30000], ["1h2m3s", 3723000], ["500ms", 500], ["0s", 0], ["0", 0],
    ["1.5s", 1500], [".5s", 500], ["1.s", 1000], ["1500us", 1.5], ["1500µs", 1.5], ["2000000ns", 2], ["-1m", -60000], ["+2s", 2000],
    ["18h12m16s", 65536000], ["1h1h", 7200000],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseGoDuration(text), { ms }, text);
  // And Go's errors
  assert.deepEqual(parseGoDuration("5"), { error: 'time: missing unit in duration "5"' });
  assert.deepEqual(parseGoDuration("1d"), { error: 'time: unknown unit "d" in duration "1d"' });
  assert.deepEqual(parseGoDuration(""), { error: 'time: invalid duration ""' });
  assert.deepEqual(parseGoDuration("."), { error: 'time: invalid duration "."' });
  assert.deepEqual(parseGoDuration("m"), { error: 'time: invalid duration "m"' });
  assert.deepEqual(parseGoDuration("3000000h"), { error: 'time: invalid duration "3000000h"' });
  // When given to a flag / Then stored as ms, errors name the flag
  assert.equal(ok(["--ipvs-sync-period=1m30s"]).ipvsSyncPeriod, 90000);
  assert.equal(ok(["--bgp-holdtime", "10s"]).bgpHoldtime, 10000);
  assert.equal(err(["--ipvs-sync-period=1d"]), 'invalid value "1d" for --ipvs-sync-period: time: unknown unit "d" in duration "1d"');
});

test("unsigned integers follow Go's ParseUint and the flag's width", () => {
  assert.equal(ok(["--bgp-port=1790"]).bgpPort, 1790);
  assert.equal(ok(["--bgp-port=0x6fe"]).bgpPort, 1790);
  assert.equal(ok(["--cluster-asn=4200000000"]).clusterAsn, 4200000000);
  assert.equal(ok(["--peer-router-multihop-ttl=255"]).peerRouterMultihopTtl, 255);
  assert.equal(err(["--peer-router-multihop-ttl=256"]), 'invalid value "256" for --peer-router-multihop-ttl: value out of range (max 255)');
  assert.equal(err(["--health-port=70000"]), 'invalid value "70000" for --health-port: value out of range (max 65535)');
  assert.equal(err(["--bgp-port=-1"]), 'invalid value "-1" for --bgp-port: not an unsigned integer');
  assert.equal(err(["--metrics-port="]), 'invalid value "" for --metrics-port: not an unsigned integer');
});

test("semantic validation runs after parsing and names the flag", () => {
  // Given syntactically fine but invalid values / Then config-validate's messages, joined on one line
  assert.equal(
    err(["--service-cluster-ip-range=10.10.10"]),
    "failed to parse --service-cluster-ip-range parameter: '10.10.10': invalid CIDR address: 10.10.10",
  );
  assert.equal(
    err(["--service-node-port-range=8080,8081", "--overlay-type=mesh"]),
    "--service-node-port-range: failed to parse node port range given: '8080,8081' please see specification in help text; " +
      'invalid value "mesh" for --overlay-type: must be subnet or full',
  );
  // And -h / -V skip validation (the caller prints and exits)
  assert.equal(ok(["--overlay-type=mesh", "-h"]).help, true);
});

test("environment: NODE_NAME and KUBE_ROUTER_CNI_CONF_FILE", () => {
  // Given the env upstream reads
  const c = ok([], { NODE_NAME: "node-7", KUBE_ROUTER_CNI_CONF_FILE: "/etc/cni/net.d/10-kuberouter.conflist" });
  // Then they land in the config; empty values count as unset
  assert.equal(c.nodeNameEnv, "node-7");
  assert.equal(c.cniConfFile, "/etc/cni/net.d/10-kuberouter.conflist");
  const d = ok([], { NODE_NAME: "", KUBE_ROUTER_CNI_CONF_FILE: "" });
  assert.equal("nodeNameEnv" in d, false);
  assert.equal(d.cniConfFile, "/etc/cni/net.d/10-kuberouter.conf");
});

test("our flags", () => {
  const c = ok(["--snapshot", "cluster.yaml", "--once", "--dry-run", "--state-dir=/run/kr/n1", "--iptables-backend=legacy"]);
  assert.equal(c.snapshot, "cluster.yaml");
  assert.equal(c.once, true);
  assert.equal(c.dryRun, true);
  assert.equal(c.stateDir, "/run/kr/n1");
  assert.equal(c.iptablesBackend, "legacy");
  assert.equal(err(["--snapshot="]), 'invalid value "" for --snapshot: must not be empty');
  assert.equal(err(["--iptables-backend=iptables"]), 'invalid value "iptables" for --iptables-backend: must be one of auto, nft, legacy');
});

test("-- ends the flags; arguments after it are rejected", () => {
  assert.deepEqual(ok(["--"]), DEFAULT_CONFIG);
  assert.equal(err(["--", "x"]), 'unexpected argument "x": kube-router takes no positional arguments (write booleans as --flag=false)');
});

test("a realistic DaemonSet argument list", () => {
  // Given kube-router's documented DaemonSet args
  const c = ok([
    "--run-router=true", "--run-firewall=true", "--run-service-proxy=true", "--bgp-graceful-restart=true",
    "--kubeconfig=/var/lib/kube-router/kubeconfig", "--runtime-endpoint=unix:///run/containerd/containerd.sock",
    "--service-cluster-ip-range=10.96.0.0/12", "--peer-router-ips=192.168.1.99", "--peer-router-asns=64513",
    "--cluster-asn=64512", "--advertise-cluster-ip=true", "--metrics-port=8080", "-v=2",
  ], { NODE_NAME: "worker-1" });
  // Then every value is where it belongs
  assert.equal(c.bgpGracefulRestart, true);
  assert.equal(c.kubeconfig, "/var/lib/kube-router/kubeconfig");
  assert.deepEqual(c.peerRouterIps, ["192.168.1.99"]);
  assert.deepEqual(c.peerRouterAsns, [64513]);
  assert.equal(c.clusterAsn, 64512);
  assert.equal(c.metricsPort, 8080);
  assert.equal(c.v, 2);
  assert.equal(c.nodeNameEnv, "worker-1");
});

test("usage lists every flag with its default and one-line help", () => {
  // Given the help text
  const text = usage();
  const lines = text.split("\n");
  // Then every flag appears once, on its own line
  for (const f of FLAGS) {
    const mine = lines.filter((l) => new RegExp(`^\\s+(-${f.short ?? "_"}, )?--${f.name}( |$)`).test(l));
    assert.equal(mine.length, 1, `--${f.name}`);
  }
  // And defaults are shown as pflag does
  assert.match(text, /--ipvs-sync-period duration +.*\(default 5m0s\)$/m);
  assert.match(text, /--service-cluster-ip-range strings +.*\(default \[10\.96\.0\.0\/12\]\)$/m);
  assert.match(text, /--metrics-path string +.*\(default "\/metrics"\)$/m);
  assert.match(text, /--health-port uint16 +.*\(default 20244\)$/m);
  assert.match(text, /--run-router +.*\(default true\)$/m);
  assert.match(text, /^ {2}-v, --v int /m);
  assert.doesNotMatch(text, /--masquerade-all .*\(default/);
  assert.ok(text.startsWith("Usage of kube-router:\n"));
});
