// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "migrate.h"

/* The file's end now, never beyond @end; @end when it cannot be told. */
static off_t current_end(const struct cdm_migrate_ops *ops, void *ctx,
			 off_t end)
{
	off_t s = ops->size ? ops->size(ctx) : end;

	return s >= 0 && s < end ? s : end;
}

void cdm_migrate_run(off_t size, size_t batch,
		     const struct cdm_migrate_ops *ops, void *ctx,
		     struct cdm_migrate_result *res)
{
	off_t end = size;

	memset(res, 0, sizeof(*res));
	for (off_t off = 0; off < end; off += (off_t)batch) {
		size_t len;
		int r;

		if (ops->superseded(ctx)) {
			res->superseded = true;
			return;
		}
		end = current_end(ops, ctx, end);
		if (off >= end)
			break;
		len = (size_t)(end - off) < batch ? (size_t)(end - off) : batch;
		r = ops->move(ctx, off, len, &res->moved);
		res->batches++;
		if (r) {
			/* a truncate may have taken the pages under it */
			off_t now = current_end(ops, ctx, end);

			if (now < off + (off_t)len) {
				uint64_t again = 0;	/* counted once */

				end = now;
				r = 0;
				if (now > off) {
					len = (size_t)(now - off);
					r = ops->move(ctx, off, len, &again);
					res->batches++;
				}
			}
		}
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
