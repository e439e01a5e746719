/*
 * audit_batch.h - writing audit entries, many per store transaction (audit_batch.c).
 */
#ifndef TG_API_AUDIT_BATCH_H
#define TG_API_AUDIT_BATCH_H

#include "store.h"

/*
 * Writes e (borrowed until the return; id, tenant_id and at_ms set) as store_audit_insert,
 * possibly in one transaction with other requests' entries, and returns its result once it is
 * committed (or failed). Thread-safe; blocks the caller meanwhile. Takes no lock of the
 * caller's: call it with none held across (as any store write).
 */
int audit_batch_write(struct store *s, const struct audit_entry *e);

#endif
