/**
 * Our hand-written GoBGP API subset (src/apply/gobgp/proto) against the upstream .proto files of
 * the GoBGP version we run (Go module cache, `go mod download` by scripts/build-gobgp.sh).
 * Every message, field (name, number, type, label, oneof), enum value and rpc of the subset must
 * exist identically upstream, so a version bump that changes the wire format fails here.
 * Skips only when the module cache lacks the files and KRT_REQUIRE_GOBGP is not set.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isAbsolute, join } from "node:path";
import protobuf from "protobufjs";
import { PROTO_FILES, loadGobgpService, protoRoot } from "../../src/apply/gobgp/schema.ts";
import { upstreamProtoDir, upstreamProtoSkip } from "../support/gobgp.ts";

function loadRoot(includeDir: string, files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(includeDir, target));
  root.loadSync(files.map((f) => join(includeDir, f)), { keepCase: true });
  root.resolveAll();
  return root;
}

function walk(ns: protobuf.NamespaceBase, out: protobuf.ReflectionObject[] = []): protobuf.ReflectionObject[] {
  for (const o of ns.nestedArray) {
    out.push(o);
    if (o instanceof protobuf.Namespace) walk(o, out);
  }
  return out;
}

/** Every difference between our subset and upstream, one line each (empty = conformant). */
function mismatches(ours: protobuf.Root, upstream: protobuf.Root): { errors: string[]; counts: { messages: number; fields: number; enums: number; enumValues: number; rpcs: number } } {
  const errors: string[] = [];
  const counts = { messages: 0, fields: 0, enums: 0, enumValues: 0, rpcs: 0 } satisfies Record<string, number>;
  for (const o of walk(ours)) {
    if (o.fullName.startsWith(".google.")) continue;
    const up = upstream.lookup(o.fullName);
    if (o instanceof protobuf.Type) {
      counts.messages++;
      if (!(up instanceof protobuf.Type)) { errors.push(`message ${o.fullName}: not upstream`); continue; }
      for (const f of o.fieldsArray) {
        counts.fields++;
        const u = up.fields[f.name];
        const where = `field ${o.fullName}.${f.name}`;
        if (u === undefined) { errors.push(`${where}: not upstream`); continue; }
        if (u.id !== f.id) errors.push(`${where}: number ${f.id}, upstream ${u.id}`);
        const ft = f.resolvedType?.fullName ?? f.type;
        const ut = u.resolvedType?.fullName ?? u.type;
        if (ft !== ut) errors.push(`${where}: type ${ft}, upstream ${ut}`);
        if (f.repeated !== u.repeated || f.map !== u.map) errors.push(`${where}: label ${f.repeated ? "repeated" : "single"}, upstream ${u.repeated ? "repeated" : "single"}`);
        if ((f.partOf?.name ?? "") !== (u.partOf?.name ?? "")) errors.push(`${where}: oneof ${f.partOf?.name ?? "-"}, upstream ${u.partOf?.name ?? "-"}`);
      }
    } else if (o instanceof protobuf.Enum) {
      counts.enums++;
      if (!(up instanceof protobuf.Enum)) { errors.push(`enum ${o.fullName}: not upstream`); continue; }
      for (const [name, value] of Object.entries(o.values)) {
        counts.enumValues++;
        if (up.values[name] !== value) errors.push(`enum value ${o.fullName}.${name} = ${value}: upstream ${up.values[name] ?? "absent"}`);
      }
    } else if (o instanceof protobuf.Service) {
      if (!(up instanceof protobuf.Service)) { errors.push(`service ${o.fullName}: not upstream`); continue; }
      for (const m of o.methodsArray) {
        counts.rpcs++;
        const u = up.methods[m.name];
        const where = `rpc ${o.fullName}.${m.name}`;
        if (u === undefined) { errors.push(`${where}: not upstream`); continue; }
        m.resolve(); u.resolve();
        if (m.resolvedRequestType?.fullName !== u.resolvedRequestType?.fullName) errors.push(`${where}: request ${m.resolvedRequestType?.fullName}, upstream ${u.resolvedRequestType?.fullName}`);
        if (m.resolvedResponseType?.fullName !== u.resolvedResponseType?.fullName) errors.push(`${where}: response ${m.resolvedResponseType?.fullName}, upstream ${u.resolvedResponseType?.fullName}`);
        if (Boolean(m.requestStream) !== Boolean(u.requestStream) || Boolean(m.responseStream) !== Boolean(u.responseStream)) errors.push(`${where}: streaming differs`);
      }
    }
  }
  return { errors, counts };
}

const UPSTREAM_FILES = ["api/gobgp.proto", "api/attribute.proto", "api/nlri.proto", "api/common.proto", "api/capability.proto", "api/extcom.proto"];

test("GoBGP schema subset conforms to upstream", { skip: upstreamProtoSkip() }, async (t) => {
  const upDir = upstreamProtoDir();
  assert.ok(upDir !== undefined, "KRT_REQUIRE_GOBGP=1 but the upstream GoBGP .proto files are not in the Go module cache (run scripts/build-gobgp.sh)");
  const ours = loadRoot(protoRoot(), PROTO_FILES);
  const upstream = loadRoot(upDir, UPSTREAM_FILES);

  await t.test("given our subset and upstream, when compared element by element, then nothing differs", () => {
    const { errors, counts } = mismatches(ours, upstream);
    assert.deepEqual(errors, []);
    // the subset is not trivially small: the comparison really covered the API we use
    assert.ok(counts.rpcs >= 25 && counts.messages >= 80 && counts.fields >= 250, JSON.stringify(counts));
    t.diagnostic(`compared ${JSON.stringify(counts)}`);
  });

  await t.test("given a subset with a wrong field number and a wrong enum value, when compared, then both are reported", () => {
    const bad = loadRoot(protoRoot(), PROTO_FILES);
    const nh = bad.lookupType("api.NextHopAttribute");
    const f = nh.fields["next_hop"]!;
    nh.remove(f);
    nh.add(new protobuf.Field("next_hop", 7, "string"));
    bad.lookupEnum("api.TableType").values["TABLE_TYPE_GLOBAL"] = 9;
    const { errors } = mismatches(bad, upstream);
    assert.ok(errors.some((e) => e.startsWith("field .api.NextHopAttribute.next_hop: number 7, upstream 1")), errors.join("\n"));
    assert.ok(errors.some((e) => e.startsWith("enum value .api.TableType.TABLE_TYPE_GLOBAL = 9")), errors.join("\n"));
  });

  await t.test("given the subset, when loaded by proto-loader as the client does, then the service has every rpc of the subset", () => {
    const svc = loadGobgpService();
    const rpcs = ours.lookupService("api.GoBgpService").methodsArray.map((m) => m.name).sort();
    assert.deepEqual(Object.keys(svc.service).sort(), rpcs);
    assert.equal(svc.service["ListPath"]?.path, "/api.GoBgpService/ListPath");
    assert.equal(svc.service["AddPathStream"]?.requestStream, true);
  });
});
