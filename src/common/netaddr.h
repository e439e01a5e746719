/*
 * netaddr.h - numeric socket addresses from text.
 *
 * No name resolution: the daemon binds and connects to numeric addresses
 * only (a name would mean a blocking DNS lookup in an event loop).
 */
#ifndef TG_NETADDR_H
#define TG_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
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
 * Splits "host:port" or "[v6]:port" (an unbracketed host ends at the last ':') into host,
 * without brackets, and a decimal port 0..65535. The host is text, not checked (a name, an
 * address); it must not be empty and must fit host_size with its NUL. Returns 0, or -EINVAL
 * (the outputs are then untouched). The one host:port parser: callers that need a port >= 1
 * or a numeric host check that themselves.
 */
int netaddr_split_hostport(const char *s, char *host, size_t host_size, unsigned *ret_port);

/*
 * "host:port" or "[v6]:port" (port 0..65535, decimal) -> as netaddr_parse();
 * host "localhost" means 127.0.0.1. Returns 0 or -EINVAL.
 */
int netaddr_parse_hostport(const char *s, struct sockaddr_storage *ret_ss, socklen_t *ret_len);
/*
 * True when the numeric address host (v4-mapped IPv6 counts as IPv4) is one of this node's own
 * interface addresses in the calling thread's network namespace (getifaddrs), or unspecified
 * (0.0.0.0 and :: reach the node itself). False for anything else, a malformed host included.
 */
bool netaddr_is_local(const char *host);

#endif
