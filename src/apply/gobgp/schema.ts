/**
 * Schema: loads our hand-written subset of GoBGP v4.8.0's gRPC API (`./proto/api/*.proto`,
 * package `api`, service `GoBgpService`) with `@grpc/proto-loader`.
 *
 * Guarantees: field names are camelCase (`routerId`, `prefixLen`), enums are strings
 * (`"AFI_IP"`, `"SESSION_STATE_ESTABLISHED"`), 64-bit integers are JS numbers, oneofs expose a
 * virtual field naming the member set (`attr: "nextHop"`, `event: "peer"`), and absent fields
 * come back with their proto3 default (`defaults: true`) so readers never meet `undefined`
 * for a scalar or a repeated field. The subset is checked field by field against the
 * upstream files by test/apply/gobgp-schema.test.ts.
 *
 * Failure: `loadGobgpService` throws (one line) when the .proto files cannot be found or parsed.
 *
 * @category apply
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** The GoBGP version whose API the subset mirrors (and scripts/build-gobgp.sh builds). */
export const GOBGP_VERSION = "v4.8.0";

/** The .proto files of the subset, relative to {@link protoRoot}. */
export const PROTO_FILES = ["api/gobgp.proto", "api/attribute.proto", "api/nlri.proto", "api/common.proto"] as const;

/**
 * The include directory holding `api/*.proto`: next to this module (source tree, or dist/ when
 * the build copied it), else the package's src/ tree.
 */
export function protoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "proto"), join(here, "..", "..", "..", "src", "apply", "gobgp", "proto")];
  const found = candidates.find((d) => existsSync(join(d, "api", "gobgp.proto")));
  if (found === undefined) throw new Error(`gobgp schema: api/gobgp.proto not found in ${candidates.join(" or ")}`);
  return found;
}

/** proto-loader options shared by the client and the tests (see the guarantees above). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** The grpc-js service constructor for `api.GoBgpService`. */
export type GobgpServiceCtor = grpc.ServiceClientConstructor;

let cached: GobgpServiceCtor | undefined;

/** Loads (once per process) and returns the `api.GoBgpService` client constructor. */
export function loadGobgpService(): GobgpServiceCtor {
  if (cached !== undefined) return cached;
  const root = protoRoot();
  let def: protoLoader.PackageDefinition;
  try {
    def = protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [root] });
  } catch (e) {
    throw new Error(`gobgp schema: cannot load ${root}: ${String(e instanceof Error ? e.message : e).split("\n")[0]}`);
  }
  const pkg = grpc.loadPackageDefinition(def) as unknown as { api: { GoBgpService: GobgpServiceCtor } };
  cached = pkg.api.GoBgpService;
  return cached;
}
