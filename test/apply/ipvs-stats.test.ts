/**
 * The per-service IPVS stats parser on ipvsadm's own output format (`ipvsadm -Ln --stats
 * --exact` / `--rate --exact`, written from ipvsadm.c's print_service_entry: the service name
 * padded to 33 columns, each number right-aligned in 9 columns or its length + 1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseIpvsStats, readIpvsStats } from "../../src/apply/ipvs/stats.ts";
import type { Exec } from "../../src/apply/exec.ts";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ipvsadm/${name}`, import.meta.url), "utf8");
const STATS = fixture("stats-exact.txt");
const RATE = fixture("rate-exact.txt");

test("ipvs stats: one record per virtual service, keyed as the model keys IPVS services", () => {
  // Given the stats and rate listings of seven virtual services (v4, v6, fwmark v4 and v6)
  const got = parseIpvsStats(STATS, RATE);
  // Then the keys are the model's, in listing order; real-server lines are not services
  assert.deepEqual(got.map((s) => s.key), [
    "tcp/10.96.0.10/80", "tcp/10.250.0.11/30080", "udp/10.96.0.10/53", "tcp/192.168.99.1/80",
    "tcp/[fd00:10:96::a]/443", "fwmark/ipv4/3782", "fwmark/ipv6/3783",
  ]);
  // And the counters and rates of a service are joined, exact (no K/M rounding), beyond 32 bits
  const web = got[0]!;
  assert.deepEqual(
    [web.conns, web.inPkts, web.outPkts, web.inBytes, web.outBytes, web.cps, web.inPps, web.outPps, web.inBps, web.outBps],
    [12, 340, 298, 24680, 1234567890123, 2, 15, 13, 1100, 95000],
  );
  assert.deepEqual(got[4]!.service, { family: "ipv6", protocol: "tcp", address: "fd00:10:96::a", port: 443 });
  assert.deepEqual(got[6]!.service, { family: "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: 3783 });
});

test("ipvs stats: a service in only one listing (created between the reads) gets zeros for the other", () => {
  const head = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n";
  const got = parseIpvsStats(`${head}TCP  10.96.0.1:443                        1        2        3        4        5\n`, "");
  assert.deepEqual([got[0]!.conns, got[0]!.cps], [1, 0]);
  assert.deepEqual(parseIpvsStats("IP Virtual Server version 1.2.1 (size=4096)\n", ""), []);
});

test("ipvs stats: rounded (non --exact) or unknown lines fail with one line naming it", () => {
  const rounded = "TCP  10.96.0.10:80                  123456K      340      298    24680    51000\n";
  assert.throws(() => parseIpvsStats(rounded, ""), { message: /^ipvsadm --stats line 1: want five exact counts \(run with --exact\): TCP  10\.96\.0\.10:80/ });
  assert.throws(() => parseIpvsStats("", "ICMP  10.0.0.1:0  1 2 3 4 5\n"), { message: /^ipvsadm --rate line 1: unknown protocol/ });
});

test("ipvs stats: one read is two ipvsadm processes whatever the number of services", async () => {
  // Given an Exec answering the two listings
  const calls: string[] = [];
  const exec: Exec = {
    async run(cmd, args) {
      calls.push([cmd, ...args].join(" "));
      return { code: 0, stdout: args.includes("--stats") ? STATS : RATE, stderr: "" };
    },
  };
  // When read / Then exactly the two exact listings ran, and seven services came back
  assert.equal((await readIpvsStats(exec)).length, 7);
  assert.deepEqual(calls.sort(), ["ipvsadm -Ln --rate --exact", "ipvsadm -Ln --stats --exact"]);
});
