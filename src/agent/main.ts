#!/usr/bin/env node
/**
 * The `kube-router` command: upstream's flags plus --snapshot, --once, --dry-run, -o json,
 * --cleanup-config. Exit codes: 0 converged (dry-run: nothing to change), 2 dry-run with
 * changes pending, 1 error. Every error is one line on stderr, never a stack trace.
 *
 * @category agent
 */
import { run } from "./cli.ts";

run(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
    // Everything is stopped by now; a handle some library leaked must not keep the pod in Terminating.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (e: unknown) => {
    process.stderr.write(`kube-router: error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`);
    process.exitCode = 1;
  },
);
