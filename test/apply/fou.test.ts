/**
 * FoU port commands and dump parsing (src/apply/ip/fou.ts). The dump shape follows iproute2
 * 6.1's source; this host's kernel has no fou, so no kernel test here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fouAddArgs, fouDelArgs, parseFouPorts } from "../../src/apply/ip/fou.ts";

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
