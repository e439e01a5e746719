/*
 * edge_bench_server.c - hosts one edge for bench/edge.sh.
 *
 *   edge_bench_server copy|splice MAX_CONNS LISTEN_PORT:TARGET_PORT...
 *
 * Opens one grant per LISTEN_PORT:TARGET_PORT pair on 127.0.0.1 -> 127.0.0.1,
 * allowing 127.0.0.0/8, prints "ready" and runs until SIGINT/SIGTERM. The
 * environment's EDGE_THREADS sets the relay loops (default 1).
 * Connection records are counted, not stored.
 */
#include "cidr.h"
#include "edge.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong ended;

static void on_event(void *ud, const struct edge_event *ev)
{
    (void)ud;
    if (ev->type == EDGE_EV_CONN_END)
        atomic_fetch_add(&ended, 1);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s copy|splice MAX_CONNS LPORT:TPORT...\n", argv[0]);
        return 2;
    }
    const char *threads = getenv("EDGE_THREADS");
    struct edge_config cfg = {
        .mode = strcmp(argv[1], "copy") == 0 ? EDGE_RELAY_COPY : EDGE_RELAY_SPLICE,
        .max_conns = (unsigned)atoi(argv[2]),
        .on_event = on_event,
        .threads = threads ? (unsigned)atoi(threads) : 1,
    };
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct edge *e;
    int r = edge_new(&cfg, &e);
    if (r < 0) {
        fprintf(stderr, "edge_new: %s\n", strerror(-r));
        return 1;
    }
    struct cidr allow;
    cidr_parse("127.0.0.0/8", CIDR_STRICT, &allow);
    for (int i = 3; i < argc; i++) {
        unsigned lport, tport;
        char id[32];
        if (sscanf(argv[i], "%u:%u", &lport, &tport) != 2) {
            fprintf(stderr, "bad pair %s\n", argv[i]);
            edge_free(e);
            return 2;
        }
        snprintf(id, sizeof(id), "bench-%u", lport);
        struct edge_grant g = {
            .id = id,
            .listen_addr = "127.0.0.1",
            .listen_port = (uint16_t)lport,
            .target_addr = "127.0.0.1",
            .target_port = (uint16_t)tport,
            .allow = &allow,
            .n_allow = 1,
        };
        r = edge_grant_open(e, &g);
        if (r < 0) {
            fprintf(stderr, "edge_grant_open %s: %s\n", argv[i], strerror(-r));
            edge_free(e);
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    edge_free(e);
    fprintf(stderr, "edge_bench_server: %lu connections ended\n", (unsigned long)ended);
    return 0;
}
