#include "helpers.h"

#include "log.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void h_state_opts(struct sim_state *st, const char *version, const char *board, bool defconf)
{
    struct sim_options o;
    memset(&o, 0, sizeof o);
    strcpy(o.address, "127.0.0.2");
    strcpy(o.serial, "SIM123");
    if (sim_options_set_version(&o, version) != 0)
        abort();
    if (board)
        sim_options_set_board(&o, board);
    o.defconf = defconf;
    log_set_level(LOG_ERROR);
    sim_state_init(st, &o, "pw");
}

void h_state(struct sim_state *st)
{
    struct sim_options o;
    memset(&o, 0, sizeof o);
    strcpy(o.address, "127.0.0.2");
    strcpy(o.version, "7.16");
    strcpy(o.serial, "SIM123");
    log_set_level(LOG_ERROR); /* the sim logs every event; keep test output readable */
    sim_state_init(st, &o, "pw");
}

struct sockaddr_storage h_addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(40000);
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
        abort();
    return ss;
}

void h_sentence(struct ros_sentence *s, ...)
{
    ros_sentence_init(s);
    va_list ap;
    va_start(ap, s);
    const char *w;
    while ((w = va_arg(ap, const char *)) != NULL)
        ros_sentence_add_str(s, w);
    va_end(ap);
}

size_t h_decode(const struct buf *b, struct ros_sentence *out, size_t n)
{
    size_t off = 0, k = 0;
    while (off < b->len && k < n) {
        ros_sentence_init(&out[k]);
        ssize_t r = ros_sentence_parse((const uint8_t *)b->data + off, b->len - off, &out[k]);
        if (r <= 0)
            abort();
        off += (size_t)r;
        k++;
    }
    return k;
}

void h_release(struct ros_sentence *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ros_sentence_release(&v[i]);
}
