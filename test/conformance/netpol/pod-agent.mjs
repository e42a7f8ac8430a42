// One conformance "pod": started inside a pod network namespace (`ip netns exec NS node pod-agent.mjs [--ipv6]`),
// it serves TCP and UDP on ports 80 and 81 (UDP echoes; with --ipv6 on IPv6 too) and probes other
// pods on request (IPv4 or IPv6, by the target address).
// Plain JavaScript so it starts in ~0.1 s without a TypeScript loader.
//
// Protocol, JSON lines:
//   stdout, once all four servers listen: {"ready":true}
//   stdin  {"id":N,"to":"10.244.2.12"|"fd00:10:244:2::12","port":80,"proto":"tcp"|"udp","t1":ms,"t2":ms}
//   stdout {"id":N,"ok":bool,"how":"connected"|"reply"|"timeout"|<errno code>,"tries":1|2,"ms":N}
// A probe that times out is tried once more (with t2) before it is declared blocked; an error
// (ECONNREFUSED from a REJECT, EHOSTUNREACH, …) is final at once, so REJECTed probes are fast.
// The process exits when stdin closes, so it never outlives the test that started it.
import net from "node:net";
import dgram from "node:dgram";
import { createInterface } from "node:readline";

const PORTS = [80, 81];
const IPV6 = process.argv.includes("--ipv6");

// UDP probes bind their own source port from a range no server uses and never reuse one within a
// run, so a conntrack entry left by an earlier (allowed) probe can never let a later one through.
let nextUdpPort = 20000;
const udpSourcePort = () => {
  const p = nextUdpPort++;
  if (nextUdpPort > 31999) nextUdpPort = 20000;
  return p;
};

function serve() {
  const listening = [];
  const families = IPV6 ? [["udp4", "0.0.0.0"], ["udp6", "::"]] : [["udp4", "0.0.0.0"]];
  for (const port of PORTS) {
    for (const [type, host] of families) {
      const tcp = net.createServer((sock) => {
        sock.on("error", () => {});
        sock.end();
      });
      tcp.on("error", (e) => fail(`tcp/${port} ${host}: ${e.message}`));
      listening.push(new Promise((resolve) => tcp.listen({ port, host, ipv6Only: type === "udp6" }, resolve)));
      const udp = dgram.createSocket({ type, ipv6Only: type === "udp6" });
      udp.on("message", (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
      udp.on("error", (e) => fail(`udp/${port} ${host}: ${e.message}`));
      listening.push(new Promise((resolve) => udp.bind({ port, address: host }, resolve)));
    }
  }
  return Promise.all(listening);
}

function fail(msg) {
  process.stderr.write(`pod-agent: ${msg}\n`);
  process.exit(3);
}

/** One TCP connect attempt: "connected", "timeout" or the errno code. */
function tcpOnce(to, port, timeoutMs) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: to, port });
    const done = (how) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(how);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    sock.once("connect", () => done("connected"));
    sock.once("error", (e) => done(e.code ?? e.message));
  });
}

/** One UDP attempt on a connected socket: "reply", "timeout" or the errno code (ICMP unreachable ⇒ ECONNREFUSED). */
function udpOnce(to, port, timeoutMs) {
  return new Promise((resolve) => {
    const v6 = net.isIPv6(to);
    const sock = dgram.createSocket(v6 ? "udp6" : "udp4");
    let finished = false;
    const done = (how) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(how);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    sock.on("error", (e) => done(e.code ?? e.message));
    sock.on("message", () => done("reply"));
    sock.bind({ port: udpSourcePort(), address: v6 ? "::" : "0.0.0.0" }, () => {
      sock.connect(port, to, (err) => {
        if (err) return done(err.code ?? err.message);
        sock.send("probe", (e) => { if (e) done(e.code ?? e.message); });
      });
    });
  });
}

async function probe(req) {
  const once = req.proto === "udp" ? udpOnce : tcpOnce;
  const start = Date.now();
  let how = await once(req.to, req.port, req.t1);
  let tries = 1;
  if (how === "timeout") {
    how = await once(req.to, req.port, req.t2);
    tries = 2;
  }
  const ok = how === "connected" || how === "reply";
  return { id: req.id, ok, how, tries, ms: Date.now() - start };
}

await serve();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let req;
  try { req = JSON.parse(line); } catch { return fail(`bad request: ${line}`); }
  probe(req).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
});
rl.on("close", () => process.exit(0));
