/**
 * DSR pod tunnels over a fake runtime and a fake exec: what is run inside the pod's netns,
 * idempotence (no `link add` when the link exists), one error line per failing pod.
 * Not testable here: a real container runtime (crictl/docker) and entering a real pod.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeExec } from "../../src/apply/fake.ts";
import { type ContainerRuntime, cliRuntime, podTunnelScript, reconcileDsrPods } from "../../src/apply/dsr-pod/driver.ts";

const tunnel = { pod: "default/p", podIp: "10.244.1.5", vip: "198.51.100.7", family: "ipv4" as const, containerId: "containerd://c1" };
const runtime: ContainerRuntime = { pidOf: async (id) => { if (id.endsWith("gone")) throw new Error("container not found"); return 4242; } };

function nsenterFake(linkExists: boolean) {
  return {
    handles: (cmd: string) => cmd === "nsenter" || cmd === "crictl" || cmd === "docker",
    run: (cmd: string, args: readonly string[]) => {
      if (cmd === "crictl") return { code: 0, stdout: JSON.stringify({ info: { pid: 77 } }), stderr: "" };
      if (cmd === "docker") return { code: 0, stdout: "88\n", stderr: "" };
      if (args.includes("show")) return linkExists ? { code: 0, stdout: "5: kube-tunnel-if: <NOARP,UP>", stderr: "" } : { code: 1, stdout: "", stderr: "Device does not exist" };
      return { code: 0, stdout: "", stderr: "" };
    },
  };
}

test("podTunnelScript: ipip link with the pod IP, up, VIP /32, rp_filter 0; IPv6 uses ip6tnl and /128", () => {
  assert.deepEqual(podTunnelScript(tunnel, false), {
    ipBatch: "link add kube-tunnel-if type ipip local 10.244.1.5\nlink set kube-tunnel-if up\naddress replace 198.51.100.7/32 dev kube-tunnel-if\n",
    sysctls: ["net.ipv4.conf.kube-tunnel-if.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.all.rp_filter=0"],
  });
  assert.equal(podTunnelScript({ ...tunnel, family: "ipv6", podIp: "fd00::5", vip: "2001:db8::7" }, true).ipBatch,
    "link set kube-tunnel-v6 up\naddress replace 2001:db8::7/128 dev kube-tunnel-v6\n");
});

test("reconcileDsrPods enters the pod by PID and is idempotent", async () => {
  for (const exists of [false, true]) {
    const exec = fakeExec(nsenterFake(exists));
    const r = await reconcileDsrPods(exec, runtime, [tunnel]);
    assert.deepEqual(r, { done: ["default/p"], errors: [] });
    const batch = exec.calls.find((c) => c.args.includes("-batch"))!;
    assert.deepEqual(batch.args, ["-t", "4242", "-n", "ip", "-batch", "-"]);
    assert.equal(batch.stdin!.includes("link add"), !exists);
  }
});

test("a pod whose container is gone or has no ID is one error line; the others are still done", async () => {
  const exec = fakeExec(nsenterFake(false));
  const { containerId: _c, ...noId } = tunnel;
  const r = await reconcileDsrPods(exec, runtime, [{ ...tunnel, pod: "default/gone", containerId: "containerd://gone" }, { ...noId, pod: "default/new" }, tunnel]);
  assert.deepEqual(r.done, ["default/p"]);
  assert.deepEqual(r.errors, [
    "DSR tunnel for 198.51.100.7 in pod default/gone: container not found",
    "DSR tunnel for 198.51.100.7 in pod default/new: the pod has no container ID yet",
  ]);
});

test("cliRuntime: CRI through crictl inspect (info.pid), docker:// through docker inspect", async () => {
  const exec = fakeExec(nsenterFake(false));
  const rt = cliRuntime(exec, "unix:///run/containerd/containerd.sock");
  assert.equal(await rt.pidOf("containerd://abc"), 77);
  assert.equal(await rt.pidOf("docker://def"), 88);
  assert.deepEqual(exec.calls[0]!.args, ["--runtime-endpoint", "unix:///run/containerd/containerd.sock", "inspect", "-o", "json", "abc"]);
});
