/**
 * Where the API server is and how to reach it: the one thing every request of the agent needs
 * (lists, watches, ConfigMap / Service status / Event / Lease writes). Built by config.ts from
 * `--kubeconfig` / `--master` / in-cluster; a small object of our own instead of client-node's
 * KubeConfig, whose module graph (every API group's generated client) costs the agent ~70 MiB.
 *
 * @category sources
 */
import { readFileSync, statSync } from "node:fs";
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import https from "node:https";

/** What node's http(s).request needs to reach the server: TLS settings and the auth header. */
export interface KubeRequestBase {
  readonly headers: Readonly<Record<string, string>>;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

/** How the agent authenticates: a bearer token (inline or a file read again when it changes), a client certificate, basic auth, or nothing. */
export interface KubeCredentials {
  readonly token?: string;
  /** A token file (the service account's): read again when its mtime changes (bound tokens rotate). */
  readonly tokenFile?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly username?: string;
  readonly password?: string;
}

export interface KubeConnectionSpec {
  /** `https://host:port` or `http://host:port`, no trailing slash. */
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  /** SNI / certificate name to expect instead of the server's host (`tls-server-name`). */
  readonly tlsServerName?: string;
  readonly credentials: KubeCredentials;
}

/** The API server and the options that reach it; `requestOptions()` never throws on a readable setup. */
export class KubeConnection {
  readonly server: string;
  private tokenCache: { mtimeMs: number; token: string } | undefined;

  constructor(readonly spec: KubeConnectionSpec) {
    this.server = spec.server.replace(/\/+$/, "");
  }

  /** The URL of `path` (which starts with "/") on this server, with `query` set. */
  url(path: string, query: Readonly<Record<string, string | number | boolean | undefined>> = {}): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * Starts a request to `url` on this server with its TLS settings, its Authorization header and
   * `Accept: application/json`; `init.headers` add to those. Throws (one line) when the
   * credentials cannot be read; the caller ends the request and handles its errors.
   */
  open(url: URL, init: RequestOptions & { headers?: Record<string, string> }, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const base = this.requestOptions();
    const mod = url.protocol === "https:" ? https : http;
    return mod.request(url, { ...base, ...init, headers: { ...base.headers, Accept: "application/json", ...init.headers } }, onResponse);
  }

  /**
   * TLS settings and the Authorization header for node's http(s).request. A token file is read
   * again when its mtime changed; an unreadable token file throws (one line, naming the file).
   */
  requestOptions(): KubeRequestBase {
    const s = this.spec;
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
    else if (s.credentials.username !== undefined) headers["Authorization"] = `Basic ${Buffer.from(`${s.credentials.username}:${s.credentials.password ?? ""}`).toString("base64")}`;
    return {
      headers,
      ...(s.ca ? { ca: s.ca } : {}),
      ...(s.credentials.cert ? { cert: s.credentials.cert } : {}),
      ...(s.credentials.key ? { key: s.credentials.key } : {}),
      ...(s.tlsServerName ? { servername: s.tlsServerName } : {}),
      rejectUnauthorized: s.insecureSkipTlsVerify !== true,
    };
  }

  private token(): string | undefined {
    const { token, tokenFile } = this.spec.credentials;
    if (token !== undefined) return token;
    if (tokenFile === undefined) return undefined;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(tokenFile).mtimeMs;
      if (this.tokenCache?.mtimeMs !== mtimeMs) this.tokenCache = { mtimeMs, token: readFileSync(tokenFile, "utf8").trim() };
    } catch (e) {
      throw new Error(`token file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return this.tokenCache.token;
  }
}
