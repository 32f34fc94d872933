/* SPDX-License-Identifier: MIT */
/*
 * systemd's service protocols, without libsystemd (man sd_notify,
 * sd_listen_fds): state lines as datagrams on $NOTIFY_SOCKET, descriptors
 * with them as SCM_RIGHTS (FDSTORE=1); descriptors passed to a new process
 * from fd 3 on, counted by $LISTEN_FDS and named by $LISTEN_FDNAMES when
 * $LISTEN_PID is this process.
 */
#ifndef HOMID_SD_H
#define HOMID_SD_H

#define HOMID_SD_LISTEN_START 3

/*
 * Send @msg (newline-separated KEY=VALUE lines) with @nfds descriptors.
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is not set, or -errno.
 */
int homid_sd_notify(const char *msg, const int *fds, int nfds);
/* Forget the socket (tests change $NOTIFY_SOCKET). */
void homid_sd_reset(void);

/*
 * The descriptors passed to this process: returns their number n (fds 3 ..
 * 3 + n - 1, close-on-exec set) and their names in *@names (n strings, one
 * allocation: free(*names) frees all; "unknown" when none were given), 0
 * when none were passed (or not to this pid), or -EINVAL with a message.
 * With @unset, the LISTEN_* variables are removed from the environment.
 */
int homid_sd_listen_fds(int unset, char ***names);

/* A name systemd accepts in FDNAME=: 1..255 printable ASCII characters, no ':'. */
int homid_sd_fdname_ok(const char *name);

#endif
