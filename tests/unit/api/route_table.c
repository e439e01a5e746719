/*
 * route_table.c - prints tikgated's routing table, api_routes[] of src/api/routes.c (the real
 * one, linked from api_lib), one "METHOD PATTERN" line per row, aliases included.
 * tests/lint/openapi_routes.py compares it with api/openapi.yaml.
 */
#include "api.h"

#include <stdio.h>

int main(void)
{
    for (size_t i = 0; i < api_routes_count; i++) {
        if (printf("%s %s\n", api_routes[i].method, api_routes[i].pattern) < 0)
            return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
