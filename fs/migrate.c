// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "migrate.h"

void cdm_migrate_run(off_t size, size_t batch,
		     const struct cdm_migrate_ops *ops, void *ctx,
		     struct cdm_migrate_result *res)
{
	memset(res, 0, sizeof(*res));
	for (off_t off = 0; off < size; off += (off_t)batch) {
		size_t len = (size_t)(size - off) < batch ?
			     (size_t)(size - off) : batch;
		int r;

		if (ops->superseded(ctx)) {
			res->superseded = true;
			return;
		}
		r = ops->move(ctx, off, len, &res->moved);
		res->batches++;
		/* one stuck range must not leave the rest behind */
		if (r && !res->error) {
			res->error = r;
			res->fail_start = off;
			res->fail_end = off + (off_t)len;
		}
		if (ops->progress)
			ops->progress(ctx, res->moved);
	}
}
