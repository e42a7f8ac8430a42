/**
 * FoU port commands and dump parsing (src/apply/ip/fou.ts). This host's kernel has no fou; the
 * dumps in test/fixtures/ip/fou-show*-6.1.json were captured in the qemu VM tier (Debian 6.1
 * kernel, iproute2 6.1), where test/vm-guest/overlay-tunnels.test.ts runs the fou overlay.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fouAddArgs, fouDelArgs, parseFouPorts } from "../../src/apply/ip/fou.ts";

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/ip/${name}`, import.meta.url), "utf8");

test("given FoU ports, when compiled, then ip fou add/del lines per family", () => {
  assert.deepEqual(fouAddArgs({ family: "ipv4", port: 5555 }), ["fou", "add", "port", "5555", "gue"]);
  assert.deepEqual(fouAddArgs({ family: "ipv6", port: 5555 }), ["-6", "fou", "add", "port", "5555", "gue"]);
  assert.deepEqual(fouDelArgs({ family: "ipv6", port: 6000 }), ["-6", "fou", "del", "port", "6000"]);
});

test("given an ip -j fou show dump, when parsed, then only GUE ports of the family remain", () => {
  const dump = JSON.stringify([{ port: 5555, gue: null, family: "inet" }, { port: 7777, ipproto: 4, family: "inet" }, { port: 5555, gue: null, family: "inet6" }]);
  assert.deepEqual(parseFouPorts(dump, "ipv4"), [{ family: "ipv4", port: 5555 }]);
  assert.deepEqual(parseFouPorts(dump, "ipv6"), [{ family: "ipv6", port: 5555 }]);
  assert.deepEqual(parseFouPorts("", "ipv4"), []);
});

test("given the real `ip -j fou show` of Debian's 6.1 kernel (qemu VM tier), when parsed per family, then each family keeps its own GUE port although either dump lists both families", () => {
  // Given the dumps captured in the VM after `fou add port 5555 gue`, `ip -6 fou add port 5555 gue`
  // and a foreign direct-FoU `fou add port 7777 ipproto 4`: iproute2 6.1 prints the ports of
  // BOTH families whichever of `ip -j fou show` / `ip -6 -j fou show` runs
  const v4 = fixture("fou-show-6.1.json");
  const v6 = fixture("fou-show-6-6.1.json");
  assert.deepEqual(JSON.parse(v6), [{ port: 5555, gue: null, family: "inet6" }, { port: 5555, gue: null, family: "inet" }]);
  // When parsed, Then the family field decides (never the dump's flag), and ipproto ports are not GUE
  assert.deepEqual(parseFouPorts(v4, "ipv4"), [{ family: "ipv4", port: 5555 }]);
  assert.deepEqual(parseFouPorts(v4, "ipv6"), [{ family: "ipv6", port: 5555 }]);
  assert.deepEqual(parseFouPorts(v6, "ipv6"), [{ family: "ipv6", port: 5555 }]);
  assert.deepEqual(parseFouPorts(v6, "ipv4"), [{ family: "ipv4", port: 5555 }]);
});
