/**
 * `node --import tsx bench/gobgp-api.ts [--paths N]`: the cost of driving gobgpd (v4.8) over
 * gRPC from Node through our client — round trips of ListPeer / GetBgp, adding N paths (default
 * 10 000) one unary AddPath at a time, with 64 in flight, and over AddPathStream in batches of
 * 1000; ListPath and GetTable of N paths; deleting them.
 *
 * Runs one gobgpd on a unix socket in a temp dir with BGP started but no listener
 * (listenPort -1): no network, no root needed. Prints one line per measurement; exit 1 when
 * gobgpd cannot be started (e.g. not built: scripts/build-gobgp.sh).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { GobgpClient } from "../src/apply/gobgp/client.ts";
import { GobgpDaemon, resolveGobgpd } from "../src/apply/gobgp/daemon.ts";
import { FAMILY_IPV4, type UnicastPath, buildPath, parseDestinations } from "../src/apply/gobgp/paths.ts";
import { peerToWire } from "../src/apply/gobgp/peers.ts";
import type { WPath } from "../src/apply/gobgp/wire.ts";

const { values } = parseArgs({ options: { paths: { type: "string", default: "10000" }, peers: { type: "string", default: "150" } } });
const N = Number(values.paths);
const PEERS = Number(values.peers);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const f = (x: number): string => x.toFixed(2);

async function rtt(name: string, n: number, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  console.log(`${name}: p50 ${f(pct(xs, 50))} ms, p99 ${f(pct(xs, 99))} ms (${n} calls)`);
}

async function timed(name: string, fn: () => Promise<unknown>, per?: number): Promise<number> {
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  console.log(`${name}: ${f(ms)} ms${per ? ` (${f((ms * 1000) / per)} µs each, ${Math.round((per * 1000) / ms)}/s)` : ""}`);
  return ms;
}

function vipPaths(n: number, salt: number): WPath[] {
  const out: WPath[] = [];
  for (let i = 0; i < n; i++) {
    const p: UnicastPath = { prefix: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, nextHop: `192.0.2.${1 + salt}`, communities: ["64512:100"] };
    out.push(buildPath(p));
  }
  return out;
}

async function inFlight<T>(items: readonly T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const stateDir = mkdtempSync(join(tmpdir(), "kgb-bench-"));
const daemon = new GobgpDaemon({ stateDir });
const client = new GobgpClient(daemon.target(), { deadlineMs: 120_000 });
try {
  const t0 = performance.now();
  await daemon.start();
  console.log(`gobgpd spawn → API answering: ${f(performance.now() - t0)} ms`);
  await client.startBgp({ asn: 64512, routerId: "192.0.2.1", listenPort: -1 });

  await rtt("GetBgp round trip", 1000, () => client.getBgp());
  await rtt("ListPeer round trip, 0 peers", 1000, () => client.listPeer());
  for (let i = 0; i < PEERS; i++) await client.addPeer(peerToWire({ address: `198.18.${i >> 8}.${i & 255}`, asn: 65000 + (i % 100), connectRetry: 5, passive: true }));
  await rtt(`ListPeer round trip, ${PEERS} peers`, 200, () => client.listPeer());

  const a = vipPaths(N, 0);
  await timed(`AddPath ×${N}, sequential unary`, async () => { for (const p of a) await client.addPath(p); }, N);
  await timed(`ListPath of ${N} paths (collected)`, () => client.listPath(FAMILY_IPV4));
  await timed(`ListPath of ${N} paths + parse to plain objects`, async () => parseDestinations(await client.listPath(FAMILY_IPV4)));
  await rtt(`GetTable with ${N} paths`, 50, () => client.getTable(FAMILY_IPV4));
  await timed(`DeletePath ×${N}, 64 in flight`, () => inFlight(a, 64, (p) => client.deletePath(p)), N);

  const b = vipPaths(N, 1);
  await timed(`AddPath ×${N}, 64 in flight`, () => inFlight(b, 64, (p) => client.addPath(p)), N);
  await timed(`DeletePath ×${N}, 64 in flight`, () => inFlight(b, 64, (p) => client.deletePath(p)), N);

  const c = vipPaths(N, 2);
  await timed(`AddPathStream ×${N} (batches of 1000)`, () => client.addPathStream(c, 1000), N);
  const listed = parseDestinations(await client.listPath(FAMILY_IPV4)).length;
  console.log(`  after AddPathStream: ${listed} paths listed`);
  const cli = join(dirname(resolveGobgpd()), "gobgp");
  if (existsSync(cli)) {
    await timed(`gobgp CLI 'global rib -a ipv4' of ${N} paths (the bare tool, for scale)`, async () => execFileSync(cli, ["--target", daemon.target(), "global", "rib", "-a", "ipv4"], { maxBuffer: 1 << 28 }));
    await timed(`gobgp CLI 'global rib -a ipv4 -j' of ${N} paths`, async () => execFileSync(cli, ["--target", daemon.target(), "-j", "global", "rib", "-a", "ipv4"], { maxBuffer: 1 << 28 }));
  }
  await timed(`ListPath of ${N} paths again (warm)`, () => client.listPath(FAMILY_IPV4));
  const d = vipPaths(N, 3);
  await timed(`AddPathStream ×${N} replacing every path (batches of 1000)`, () => client.addPathStream(d, 1000), N);
  console.log(`  calls: ${JSON.stringify(client.callCounts().byRpc)}`);
} finally {
  client.close();
  await daemon.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
