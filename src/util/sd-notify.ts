// Tells systemd about the service's state (Type=notify units set NOTIFY_SOCKET): READY=1 once
// the probes are attached, STOPPING=1 when the run starts to stop. systemd's own
// `systemd-notify` sends the datagram (Node has no AF_UNIX datagram sockets, and the npm
// wrappers of sd_notify are native addons needing libsystemd's headers at install). It waits
// until systemd has processed the message (systemd 246+), so the message is attributed to the
// unit; the unit needs NotifyAccess=all because the sender is that child, not zctrace.
import { execFile } from 'node:child_process';

/** Sends `KEY=VALUE` assignments when NOTIFY_SOCKET is set; never throws, never waits. */
export function sdNotify(...assignments: string[]): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const args = assignments.map((a) => (a === 'READY=1' ? '--ready' : a));
  const child = execFile('systemd-notify', [`--pid=${process.pid}`, ...args], { timeout: 10_000 }, () => {});
  child.on('error', () => {}); // no systemd-notify: nothing to tell, nobody listening
}
