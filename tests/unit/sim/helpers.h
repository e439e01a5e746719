/* Shared helpers of the sim unit tests. */
#ifndef TG_TEST_SIM_HELPERS_H
#define TG_TEST_SIM_HELPERS_H

#include "sim.h"

#include <netinet/in.h>

/* A fresh state: address 127.0.0.2, admin password "pw". */
void h_state(struct sim_state *st);
/* The same with a RouterOS version, a board (NULL: the default RouterBOARD) and defconf. */
void h_state_opts(struct sim_state *st, const char *version, const char *board, bool defconf);
/* A sockaddr for an IPv4 literal. */
struct sockaddr_storage h_addr(const char *ip);
/* Builds a sentence from NULL-terminated words. */
void h_sentence(struct ros_sentence *s, ...);
/* Decodes every sentence in b into out[] (max n); returns the count. */
size_t h_decode(const struct buf *b, struct ros_sentence *out, size_t n);
void h_release(struct ros_sentence *v, size_t n);

#endif
