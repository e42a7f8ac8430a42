// One conformance "pod": started inside a pod network namespace (`ip netns exec NS node pod-agent.mjs`),
// it serves TCP and UDP on ports 80 and 81 (UDP echoes) and probes other pods on request.
// Plain JavaScript so it starts in ~0.1 s without a TypeScript loader.
//
// Protocol, JSON lines:
//   stdout, once all four servers listen: {"ready":true}
//   stdin  {"id":N,"to":"10.244.2.12","port":80,"proto":"tcp"|"udp","t1":ms,"t2":ms}
//   stdout {"id":N,"ok":bool,"how":"connected"|"reply"|"timeout"|<errno code>,"tries":1|2,"ms":N}
// A probe that times out is tried once more (with t2) before it is declared blocked; an error
// (ECONNREFUSED from a REJECT, EHOSTUNREACH, …) is final at once, so REJECTed probes are fast.
// The process exits when stdin closes, so it never outlives the test that started it.
import net from "node:net";
import dgram from "node:dgram";
import { createInterface } from "node:readline";

const PORTS = [80, 81];

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
  for (const port of PORTS) {
    const tcp = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.end();
    });
    tcp.on("error", (e) => fail(`tcp/${port}: ${e.message}`));
    listening.push(new Promise((resolve) => tcp.listen({ port, host: "0.0.0.0" }, resolve)));
    const udp = dgram.createSocket("udp4");
    udp.on("message", (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
    udp.on("error", (e) => fail(`udp/${port}: ${e.message}`));
    listening.push(new Promise((resolve) => udp.bind({ port, address: "0.0.0.0" }, resolve)));
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
    const sock = dgram.createSocket("udp4");
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
    sock.bind({ port: udpSourcePort(), address: "0.0.0.0" }, () => {
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
