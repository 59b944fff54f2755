/**
 * Our own nginx instance (Debian's `nginx-light` or `nginx`) in a temporary prefix directory:
 * either a reverse proxy to `proxyTo` through an upstream block with keep-alive connections
 * (the configuration a careful operator would use), or a static server that answers every
 * request with `staticBody` (a near-free upstream).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpReady, type Service, spawnService } from "./procs.js";

export interface NginxOptions {
  port: number;
  cpu?: string;
  /** Reverse proxy to this base URL (`http://127.0.0.1:8000`). */
  proxyTo?: string;
  /** Or answer every request with this JSON body. */
  staticBody?: string;
  /** Content type of the static body (default application/json; text/event-stream for a canned stream). */
  staticContentType?: string;
  /** Relay responses as they come (`proxy_buffering off`), as for SSE streams. */
  unbuffered?: boolean;
}

export function nginxConfig(dir: string, o: NginxOptions): string {
  const common = [
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 8192; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${dir}/tmp/body;`,
    `  proxy_temp_path ${dir}/tmp/proxy;`,
    `  fastcgi_temp_path ${dir}/tmp/fastcgi;`,
    `  uwsgi_temp_path ${dir}/tmp/uwsgi;`,
    `  scgi_temp_path ${dir}/tmp/scgi;`,
    "  keepalive_requests 1000000;",
  ];
  let server: string[];
  if (o.proxyTo) {
    const up = new URL(o.proxyTo);
    server = [
      `  upstream backend { server ${up.host}; keepalive 64; keepalive_requests 1000000; }`,
      "  server {",
      `    listen 127.0.0.1:${o.port};`,
      "    location / {",
      "      proxy_pass http://backend;",
      "      proxy_http_version 1.1;",
      '      proxy_set_header Connection "";',
      ...(o.unbuffered ? ["      proxy_buffering off;"] : []),
      "    }",
      "  }",
    ];
  } else if (o.staticBody !== undefined) {
    if (/['\\$]/.test(o.staticBody)) throw new Error("static body must not contain ' \\ or $");
    server = [
      "  server {",
      `    listen 127.0.0.1:${o.port};`,
      "    location / {",
      `      default_type ${o.staticContentType ?? "application/json"};`,
      `      return 200 '${o.staticBody}';`,
      "    }",
      "  }",
    ];
  } else {
    throw new Error("nginx: give proxyTo or staticBody");
  }
  return [...common, ...server, "}", ""].join("\n");
}

export async function startNginx(o: NginxOptions): Promise<Service & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-nginx-"));
  mkdirSync(join(dir, "tmp"));
  writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, o));
  const svc = await spawnService({
    name: o.proxyTo ? "nginx" : "nginx-static",
    cmd: "nginx",
    args: ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf"), "-g", "daemon off;"],
    ...(o.cpu ? { cpu: o.cpu } : {}),
    ready: httpReady(`http://127.0.0.1:${o.port}/`),
    timeoutMs: 10_000,
  });
  const stop = svc.stop;
  return Object.assign(svc, {
    dir,
    stop: async (graceMs?: number) => {
      await stop(graceMs);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
