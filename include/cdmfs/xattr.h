/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user.cdm.* extended attributes: cdmfs's interface for placement and
 * observability.  Read-only ones are computed on every read and are not
 * listed by listxattr, so that cp -a and rsync -X do not copy them.
 */
#ifndef CDMFS_XATTR_H
#define CDMFS_XATTR_H

#define CDM_XATTR_PREFIX "user.cdm."

/** On a regular file: "passthrough" or "daemon", the data path of its
 * opens (the mount's current one if it was never opened); on the root, the
 * mount's current one. Read-only. */
#define CDM_XATTR_DATAPATH CDM_XATTR_PREFIX "datapath"
/** On the root: one line per device, "name=... kind=... node=..." */
#define CDM_XATTR_DEVICES CDM_XATTR_PREFIX "devices"
/** On the root: "op=count ..." for every FUSE operation served. */
#define CDM_XATTR_STATS CDM_XATTR_PREFIX "stats"

/** On files and directories, read-write: the placement policy, see
 * cdmfs/policy.h.  Reading gives the effective one (own, else the device
 * directory's, else bind:<device>); "inherit" or removing it drops the
 * file's own.  Stored with the backing inode: listed and copied. */
#define CDM_XATTR_POLICY CDM_XATTR_PREFIX "policy"
/** On a regular file: "DEV=BYTES ..." resident per device, from the
 * kernel's per-page answer (move_pages).  Read-only. */
#define CDM_XATTR_RESIDENCY CDM_XATTR_PREFIX "residency"
/** On a regular file: "idle", "running DONE/TOTAL bytes to POLICY" (with
 * " (queued)" before a worker has it, " (superseded OLD after N bytes)"
 * once a newer policy took over), or "idle, last: ..." with the outcome of
 * the last migration.  setxattr of the policy returns while it runs: wait
 * for it to stop saying "running".  Read-only. */
#define CDM_XATTR_MIGRATION CDM_XATTR_PREFIX "migration"
/** On a regular file: bytes resident outside its policy's devices, e.g.
 * moved by kernel tiering. Read-only. */
#define CDM_XATTR_DRIFT CDM_XATTR_PREFIX "drift"
/** On a regular file that tiering watches (tiered:FAST,SLOW, statistics
 * seen): "FAST hot=B warm=B cold=B; SLOW hot=B warm=B cold=B; promoted=B
 * demoted=B", bytes of the file's 2 MiB chunks by where tiering put them
 * and how warm the last periods found them (chunks never seen in memory
 * not counted), and bytes it moved.  ENODATA otherwise.  Read-only. */
#define CDM_XATTR_HEAT CDM_XATTR_PREFIX "heat"

/* Kept on the backing inode while a migration of the file is due (from
 * its start until it ends, not when the daemon stops it at exit or dies):
 * a daemon starting on the same store finishes it.  Value: the policy text.
 * Never shown through the mount (not listed, not readable, not settable). */
#define CDM_XATTR_PENDING CDM_XATTR_PREFIX "pending"

#endif /* CDMFS_XATTR_H */
