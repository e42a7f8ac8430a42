/**
 * `--iptables-sync-period` (issue 14: untested flags get tests): the firewall lane's full-sync
 * period, the only thing that repairs drift nobody announces. Runtime stories on the fake node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { laneSpecs } from "../../src/agent/runtime/lanes.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { startAgent, until, type Harness } from "../support/agent-harness.ts";

const FIREWALL_ONLY = { runFirewall: true, runRouter: false, runServiceProxy: false, routesSyncPeriod: 600_000, ipvsSyncPeriod: 600_000 };

/** The firewall's jump at INPUT 1, as the fake kernel holds it (undefined once removed). */
async function inputJump(h: Harness): Promise<string | undefined> {
  const save = (await h.node.exec.run("iptables-save", [])).stdout;
  return save.split("\n").find((l) => l.startsWith("-A INPUT ") && l.includes("-j KUBE-ROUTER-INPUT"));
}
/** Deletes INPUT rule 1 behind the agent's back (no event tells the agent). */
async function dropInputJump(h: Harness): Promise<void> {
  await h.node.exec.run("iptables-restore", ["--noflush"], { write: true, stdin: "*filter\n-D INPUT 1\nCOMMIT\n" });
  assert.equal(await inputJump(h), undefined, "jump removed");
}
const fullFirewallSyncs = (h: Harness) => h.logLines().filter((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("sync:"))
  .filter((l) => l["mode"] === "full" && Array.isArray(l["controllers"]) && (l["controllers"] as string[]).includes("firewall")).length;

test("--iptables-sync-period: given 7s, then the firewall lane's period is 7000 ms and the other lanes keep theirs", () => {
  // Given the flag's value parsed into the config (milliseconds)
  const { lanes } = laneSpecs({ ...DEFAULT_CONFIG, runFirewall: true, iptablesSyncPeriod: 7000 });
  // Then the firewall lane runs every 7 s; router and proxy keep --routes-sync-period / --ipvs-sync-period
  // (the extender, off by default, rests after its one sync at start: lanes.ts)
  assert.deepEqual(Object.fromEntries(lanes.map((l) => [l.name, l.periodMs])), { router: DEFAULT_CONFIG.routesSyncPeriod, bgp: Math.min(DEFAULT_CONFIG.routesSyncPeriod, DEFAULT_CONFIG.injectedRoutesSyncPeriod), proxy: DEFAULT_CONFIG.ipvsSyncPeriod, firewall: 7000, extender: Infinity });
});

test("--iptables-sync-period: given a short period, when our INPUT jump is deleted behind the agent's back, then the next periodic full sync puts it back", async () => {
  // Given the firewall alone with a 300 ms period
  const h = await startAgent({ config: { ...FIREWALL_ONLY, iptablesSyncPeriod: 300 } });
  try {
    await until(async () => (await inputJump(h)) !== undefined, 3000, "firewall programmed");
    const before = fullFirewallSyncs(h);
    // When someone deletes the jump (no source change follows)
    await dropInputJump(h);
    // Then a full firewall sync restores it within a few periods
    await until(async () => (await inputJump(h)) !== undefined, 3000, "jump repaired");
    assert.ok(fullFirewallSyncs(h) > before, "repaired by a full sync");
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("--iptables-sync-period: given a long period, the same drift stays until the period is due (the flag is what repairs it)", async () => {
  // Given the firewall alone with a 10 min period (the first full sync has run)
  const h = await startAgent({ config: { ...FIREWALL_ONLY, iptablesSyncPeriod: 600_000 } });
  try {
    await until(async () => (await inputJump(h)) !== undefined, 3000, "firewall programmed");
    const before = fullFirewallSyncs(h);
    // When the jump is deleted behind the agent's back
    await dropInputJump(h);
    await new Promise((r) => setTimeout(r, 800));
    // Then after 800 ms (more than the short case needed) no full sync has run and the jump is still gone
    assert.equal(await inputJump(h), undefined);
    assert.equal(fullFirewallSyncs(h), before);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});
