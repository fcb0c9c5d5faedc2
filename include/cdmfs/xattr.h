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
 * opens (the mount's current one if it was never opened). Read-only. */
#define CDM_XATTR_DATAPATH CDM_XATTR_PREFIX "datapath"
/** On the root: one line per device, "name=... kind=... node=..." */
#define CDM_XATTR_DEVICES CDM_XATTR_PREFIX "devices"
/** On the root: "op=count ..." for every FUSE operation served. */
#define CDM_XATTR_STATS CDM_XATTR_PREFIX "stats"

#endif /* CDMFS_XATTR_H */
