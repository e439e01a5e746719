/*
 * netaddr.h - numeric socket addresses from text.
 *
 * No name resolution: the daemon binds and connects to numeric addresses
 * only (a name would mean a blocking DNS lookup in an event loop).
 */
#ifndef TG_NETADDR_H
#define TG_NETADDR_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Numeric IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1", no brackets, no zone)
 * host and a port -> sockaddr_in or sockaddr_in6 in *ret_ss (zeroed first)
 * and its length in *ret_len. Returns 0, or -EINVAL (host NULL or not a
 * numeric address; the outputs are then untouched).
 */
int netaddr_parse(const char *host, uint16_t port, struct sockaddr_storage *ret_ss,
                  socklen_t *ret_len);

/*
 * "host:port" or "[v6]:port" (port 0..65535, decimal) -> as netaddr_parse();
 * host "localhost" means 127.0.0.1. Returns 0 or -EINVAL.
 */
int netaddr_parse_hostport(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len);

#endif
