// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
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
	cdm_migrate_run_from(0, size, batch, ops, ctx, res);
}

void cdm_migrate_run_from(off_t start, off_t size, size_t batch,
			  const struct cdm_migrate_ops *ops, void *ctx,
			  struct cdm_migrate_result *res)
{
	off_t end = size, off = start;
	/* end of the data extent @off is in; 0: ask again */
	off_t data_end = 0;

	memset(res, 0, sizeof(*res));
	while (off < end) {
		size_t len;
		int r;

		if (ops->superseded(ctx)) {
			res->superseded = true;
			return;
		}
		/* after at least one batch: a turn is never empty */
		if (res->batches && ops->yield && ops->yield(ctx)) {
			res->yielded = true;
			res->next = off;
			return;
		}
		end = current_end(ops, ctx, end);
		if (off >= end)
			break;
		if (ops->data && off >= data_end) {
			off_t ds, de;

			r = ops->data(ctx, off, &ds, &de);
			if (r == -ENXIO)
				break;		/* holes to the end */
			if (r || ds < off || de <= ds) {
				data_end = end;	/* not known: all data */
			} else {
				off = ds;
				data_end = de;
				if (off >= end)
					break;
			}
		}
		len = (size_t)(end - off) < batch ? (size_t)(end - off) : batch;
		if (ops->data && data_end > off && (size_t)(data_end - off) < len)
			len = (size_t)(data_end - off);
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
		off += (off_t)len;
	}
}
