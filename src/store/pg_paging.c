/*
 * paging.c - the cursor check of the keyset-paged lists (struct store_page).
 *
 * A page starts after the item named by after_id, in the list's own order;
 * each list's statement compares its sort key with that item's (a subquery on
 * the id). This file answers the question those statements cannot: does
 * after_id name an item of this very list (same tenant, site and kind)? One
 * statement serves every list, so the check costs one cache slot.
 */
#include "pg_int.h"

#include <errno.h>

int pg_page_check(struct pg_session *c, enum store_list list, const struct store_page *page,
                  const char *scope, const char *scope2)
{
    if (!page || !page->after_id)
        return 0;
    static const char sql[] =
        "SELECT CASE ?1::int "
        "WHEN 0 THEN EXISTS (SELECT 1 FROM sites WHERE id = ?2 AND tenant_id = ?3) "
        "WHEN 1 THEN EXISTS (SELECT 1 FROM jobs WHERE id = ?2 AND site_id = ?3) "
        "WHEN 2 THEN EXISTS (SELECT 1 FROM grants WHERE id = ?2 AND site_id = ?3 AND kind = ?4) "
        "WHEN 3 THEN EXISTS (SELECT 1 FROM users WHERE id = ?2 AND tenant_id = ?3) "
        "WHEN 4 THEN EXISTS (SELECT 1 FROM api_keys WHERE id = ?2 AND tenant_id = ?3) "
        "WHEN 5 THEN EXISTS (SELECT 1 FROM policies WHERE id = ?2 AND tenant_id = ?3) "
        "ELSE false END";
    _Static_assert(STORE_LIST_SITES == 0 && STORE_LIST_JOBS == 1 && STORE_LIST_GRANTS == 2 &&
                       STORE_LIST_USERS == 3 && STORE_LIST_API_KEYS == 4 &&
                       STORE_LIST_POLICIES == 5,
                   "the CASE arms above follow enum store_list");
    struct pg_stmt *st = pg_stmt(c, sql);
    if (!st)
        return -EIO;
    pg_bind_int(st, 1, (int)list);
    pg_bind_text(st, 2, page->after_id);
    pg_bind_text(st, 3, scope);
    pg_bind_text(st, 4, scope2);
    int rc = pg_step(st);
    int found = rc == PG_ROW ? pg_column_int(st, 0) : 0;
    pg_reset(st);
    if (rc != PG_ROW)
        return pg_map_rc(c, rc);
    return found ? 0 : -EINVAL;
}

void pg_bind_page(struct pg_stmt *st, int i, const struct store_page *page)
{
    pg_bind_text(st, i, page ? page->after_id : NULL);
    if (page)
        pg_bind_int(st, i + 1, page->limit);
    else
        pg_bind_null(st, i + 1); /* LIMIT NULL: no limit */
}

struct pg_stmt *pg_tenant_page_stmt(struct store *s, const char *sql, enum store_list list,
                                    const char *tenant_id, const struct store_page *page,
                                    struct pg_session **ret_c, int *ret_err)
{
    struct pg_session *c = pg_session(s);
    int r = c ? pg_page_check(c, list, page, tenant_id, NULL) : -EIO;
    struct pg_stmt *st = r == 0 ? pg_stmt(c, sql) : NULL;
    if (!st) {
        *ret_err = r < 0 ? r : -EIO;
        return NULL;
    }
    pg_bind_text(st, 1, tenant_id);
    pg_bind_page(st, 2, page);
    *ret_c = c;
    return st;
}
