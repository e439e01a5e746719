/*
 * fdlimit.h - the process's descriptor budget (security-review F8).
 *
 * systemd and most shells start a daemon with a soft RLIMIT_NOFILE of 1024 while the hard
 * limit is far higher. The edge needs two descriptors per relayed connection (and a pipe pair
 * per direction while data is in flight); HTTP, SQLite and the dispatcher share what is left.
 */
#ifndef TG_DAEMON_FDLIMIT_H
#define TG_DAEMON_FDLIMIT_H

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit (capped at the kernel's nr_open) and
 * returns the soft limit now in force (the old one when raising failed), or 1024 when even
 * reading it failed.
 */
unsigned long fdlimit_raise(void);

/*
 * The edge's max_conns for a soft limit of nofile descriptors: what is left after reserve
 * (the HTTP server's connection cap plus TIKGATE_FD_RESERVE for SQLite, WireGuard and the
 * edge's pipe pool), divided by 2 (two sockets per relayed connection; pipes are borrowed only
 * while data is in flight, and a pipe that cannot be had ends that connection alone), at most
 * 16384, at least 16.
 */
unsigned fdlimit_edge_conns(unsigned long nofile, unsigned long reserve);

#endif
