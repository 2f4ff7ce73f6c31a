/**
 * The cluster's processes run detached from the command that started them, their output in log files;
 * they are found again, and stopped, by the PID kept in the state file, and only when that PID still
 * runs the command recorded with it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

/** Starts `command` in its own process group with stdout and stderr appended to `logFile`; returns its PID. */
export function spawnDetached(
  command: string,
  args: string[],
  logFile: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', out, out],
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** True when `pid` runs, is no zombie, and (where /proc tells) its command line starts with `command`. */
export function isRunning(pid: number | undefined, command?: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return existsSync('/proc') ? false : true;
  const args = readFileSync(cmdline, 'utf8').split('\0');
  return args[0] !== '' && (command === undefined || args[0] === command);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `pid` is gone, false after `timeoutMs`. */
export async function waitForExit(
  pid: number,
  command: string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid, command)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Sends `signal` to `pid` (if it still runs `command`), then SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopPid(
  pid: number | undefined,
  command: string | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 10_000,
): Promise<void> {
  if (!pid || !isRunning(pid, command)) return;
  process.kill(pid, signal);
  if (await waitForExit(pid, command, graceMs)) return;
  if (isRunning(pid, command)) process.kill(pid, 'SIGKILL');
  await waitForExit(pid, command, 5_000);
}
