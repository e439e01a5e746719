/*
 * config.h - tikgated's configuration: defaults < config file < environment < flags.
 *
 * Environment names are stable (DESIGN.md §8). The config file holds
 * "key = value" lines where key is either the environment name
 * (TIKGATE_LISTEN) or its short form (listen); '#' starts a comment.
 */
#ifndef TG_DAEMON_CONFIG_H
#define TG_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
    char *listen;
    char *database;
    char *data_dir;
    char *roles;
    char *entry_point;
    char *edge_listen;
    char *edge_ports;
    bool allow_private_sources;
    char *management_networks;
    char *bootstrap_token;
    char *admin_email;    /* the first portal user */
    char *admin_password; /* its password (else random, kept in DATA_DIR/admin.password) */
    char *public_url;
    char *share_dir; /* directory holding api/openapi.yaml and docs/errors.md */
    char *config_file;
    char *log_level;
    unsigned http_threads;
    size_t max_body;
    unsigned poll_interval;      /* seconds between router heartbeats */
    unsigned pull_lease;         /* seconds a pulled job may wait for the router's busy */
    unsigned job_max_attempts;   /* express-push attempts before a job fails */
    unsigned job_backoff_ms;     /* first retry delay (doubles, capped at 60 s) */
    unsigned dispatch_workers;   /* parallel express pushes */
};

/*
 * Fills cfg from all sources. argv options: --listen=ADDR (or --listen ADDR)
 * and the other keys in long form; positional arguments are left in
 * *ret_args and *ret_nargs (a subcommand). Returns 0, or -EINVAL after printing
 * a message to stderr.
 */
int config_load(struct config *cfg, int argc, char **argv, char ***ret_args, int *ret_nargs);
void config_release(struct config *cfg);
void config_usage(const char *prog);

#endif
