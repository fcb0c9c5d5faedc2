// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: the filesystem, cdmkmfs, one superblock per region: inodes,
 * directories, symlinks, special files and extended attributes.
 */
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/xattr.h>

#include "internal.h"

/* The kernel's simple_xattr helpers are not exported to modules. */
struct cdmkm_xattr {
	struct list_head node;
	size_t size;
	char *name;
	char value[];
};

static struct kmem_cache *cdmkm_inode_cache;

/* ---- inodes ------------------------------------------------------------ */

static int cdmkm_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
			 struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = setattr_prepare(idmap, dentry, attr);
	if (ret)
		return ret;
	if ((attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode) &&
	    attr->ia_size != i_size_read(inode)) {
		ret = inode_newsize_ok(inode, attr->ia_size);
		if (ret)
			return ret;
		cdmkm_truncate(inode, attr->ia_size);
		if (!(attr->ia_valid & (ATTR_MTIME | ATTR_CTIME)))
			attr->ia_valid |= ATTR_MTIME | ATTR_CTIME;
	}
	setattr_copy(idmap, inode, attr);
	return 0;
}

static struct cdmkm_xattr *cdmkm_xattr_find(struct cdmkm_inode *ci,
					     const char *name)
{
	struct cdmkm_xattr *x;

	lockdep_assert_held(&ci->xattr_lock);
	list_for_each_entry(x, &ci->xattrs, node)
		if (!strcmp(x->name, name))
			return x;
	return NULL;
}

static void cdmkm_xattr_free(struct cdmkm_xattr *x)
{
	kfree(x->name);
	kfree(x);
}

static size_t cdmkm_xattr_cost(const char *name, size_t size)
{
	return strlen(name) + 1 + size;
}

/* simple_getattr() would count page cache pages, which these files have none of */
static int cdmkm_getattr(struct mnt_idmap *idmap, const struct path *path,
			 struct kstat *stat, u32 request_mask,
			 unsigned int query_flags)
{
	generic_fillattr(idmap, request_mask, d_inode(path->dentry), stat);
	return 0;
}

static int cdmkm_xattr_get(const struct xattr_handler *handler,
			   struct dentry *dentry, struct inode *inode,
			   const char *name, void *buffer, size_t size)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	struct cdmkm_xattr *x;
	int ret = -ENODATA;

	name = xattr_full_name(handler, name);
	mutex_lock(&ci->xattr_lock);
	x = cdmkm_xattr_find(ci, name);
	if (x) {
		ret = x->size;
		if (size && x->size > size)
			ret = -ERANGE;
		else if (size)
			memcpy(buffer, x->value, x->size);
	}
	mutex_unlock(&ci->xattr_lock);
	return ret;
}

static int cdmkm_xattr_set(const struct xattr_handler *handler,
			   struct mnt_idmap *idmap, struct dentry *dentry,
			   struct inode *inode, const char *name,
			   const void *value, size_t size, int flags)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	struct cdmkm_xattr *old, *new = NULL;
	size_t bytes;
	int ret = 0;

	name = xattr_full_name(handler, name);
	if (value) {
		new = kmalloc(struct_size(new, value, size), GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->name = kstrdup(name, GFP_KERNEL_ACCOUNT);
		if (!new->name) {
			kfree(new);
			return -ENOMEM;
		}
		new->size = size;
		memcpy(new->value, value, size);
	}
	mutex_lock(&ci->xattr_lock);
	old = cdmkm_xattr_find(ci, name);
	if (old && (flags & XATTR_CREATE))
		ret = -EEXIST;
	else if (!old && ((flags & XATTR_REPLACE) || !value))
		ret = -ENODATA;
	if (ret)
		goto out;
	bytes = ci->xattr_bytes - (old ? cdmkm_xattr_cost(old->name, old->size) : 0) +
		(new ? cdmkm_xattr_cost(name, size) : 0);
	if (bytes > CDMKM_XATTR_MAX) {
		ret = -ENOSPC;
		goto out;
	}
	ci->xattr_bytes = bytes;
	if (old)
		list_del(&old->node);
	if (new)
		list_add_tail(&new->node, &ci->xattrs);
	new = old;	/* freed below */
	inode_set_ctime_current(inode);
out:
	mutex_unlock(&ci->xattr_lock);
	if (new)
		cdmkm_xattr_free(new);
	return ret;
}

static const struct xattr_handler cdmkm_user_xattr = {
	.prefix = XATTR_USER_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler cdmkm_trusted_xattr = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler cdmkm_security_xattr = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler * const cdmkm_xattr_handlers[] = {
	&cdmkm_user_xattr,
	&cdmkm_trusted_xattr,
	&cdmkm_security_xattr,
	NULL
};

static ssize_t cdmkm_listxattr(struct dentry *dentry, char *buffer, size_t size)
{
	struct cdmkm_inode *ci = CDMKM_I(d_inode(dentry));
	bool trusted = capable(CAP_SYS_ADMIN);
	struct cdmkm_xattr *x;
	ssize_t total = 0, len;

	mutex_lock(&ci->xattr_lock);
	list_for_each_entry(x, &ci->xattrs, node) {
		if (!trusted && !strncmp(x->name, XATTR_TRUSTED_PREFIX,
					 XATTR_TRUSTED_PREFIX_LEN))
			continue;
		len = strlen(x->name) + 1;
		if (size) {
			if (total + len > size) {
				total = -ERANGE;
				break;
			}
			memcpy(buffer + total, x->name, len);
		}
		total += len;
	}
	mutex_unlock(&ci->xattr_lock);
	return total;
}

static void cdmkm_xattrs_free(struct cdmkm_inode *ci)
{
	struct cdmkm_xattr *x, *next;

	list_for_each_entry_safe(x, next, &ci->xattrs, node)
		cdmkm_xattr_free(x);
	INIT_LIST_HEAD(&ci->xattrs);
	ci->xattr_bytes = 0;
}

static const struct inode_operations cdmkm_file_iops = {
	.setattr = cdmkm_setattr,
	.getattr = cdmkm_getattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_symlink_iops = {
	.get_link = simple_get_link,
	.setattr = cdmkm_setattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_special_iops = {
	.setattr = cdmkm_setattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_dir_iops;

static struct inode *cdmkm_get_inode(struct super_block *sb,
				     const struct inode *dir, umode_t mode,
				     dev_t dev)
{
	struct inode *inode = new_inode(sb);
	struct cdmkm_inode *ci;

	if (!inode)
		return NULL;
	ci = CDMKM_I(inode);
	inode->i_ino = get_next_ino();
	inode_init_owner(&nop_mnt_idmap, inode, dir, mode);
	simple_inode_init_ts(inode);
	inode->i_mapping->a_ops = &empty_aops;
	switch (mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &cdmkm_file_iops;
		inode->i_fop = &cdmkm_file_ops;
		mutex_lock(&ci->region->files_lock);
		list_add(&ci->region_node, &ci->region->files);
		mutex_unlock(&ci->region->files_lock);
		break;
	case S_IFDIR:
		inode->i_op = &cdmkm_dir_iops;
		inode->i_fop = &simple_dir_operations;
		inc_nlink(inode);
		break;
	case S_IFLNK:
		inode->i_op = &cdmkm_symlink_iops;
		break;
	default:
		inode->i_op = &cdmkm_special_iops;
		init_special_inode(inode, mode, dev);
		break;
	}
	return inode;
}

static int cdmkm_mknod(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t dev)
{
	struct inode *inode = cdmkm_get_inode(dir->i_sb, dir, mode, dev);

	if (!inode)
		return -ENOSPC;
	d_instantiate(dentry, inode);
	dget(dentry);	/* pinned in the dcache, like ramfs */
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int cdmkm_create(struct mnt_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	return cdmkm_mknod(idmap, dir, dentry, mode | S_IFREG, 0);
}

static int cdmkm_mkdir(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	int ret = cdmkm_mknod(idmap, dir, dentry, mode | S_IFDIR, 0);

	if (!ret)
		inc_nlink(dir);
	return ret;
}

static int cdmkm_symlink(struct mnt_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, const char *target)
{
	struct inode *inode;
	size_t len = strlen(target);

	if (len >= PAGE_SIZE)
		return -ENAMETOOLONG;
	inode = cdmkm_get_inode(dir->i_sb, dir, S_IFLNK | 0777, 0);
	if (!inode)
		return -ENOSPC;
	inode->i_link = kmemdup(target, len + 1, GFP_KERNEL);
	if (!inode->i_link) {
		iput(inode);
		return -ENOMEM;
	}
	inode->i_size = len;
	d_instantiate(dentry, inode);
	dget(dentry);
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int cdmkm_tmpfile(struct mnt_idmap *idmap, struct inode *dir,
			 struct file *file, umode_t mode)
{
	struct inode *inode = cdmkm_get_inode(dir->i_sb, dir, mode, 0);

	if (!inode)
		return -ENOSPC;
	d_tmpfile(file, inode);
	return finish_open_simple(file, 0);
}

static const struct inode_operations cdmkm_dir_iops = {
	.create = cdmkm_create,
	.lookup = simple_lookup,
	.link = simple_link,
	.unlink = simple_unlink,
	.symlink = cdmkm_symlink,
	.mkdir = cdmkm_mkdir,
	.rmdir = simple_rmdir,
	.mknod = cdmkm_mknod,
	.rename = simple_rename,
	.tmpfile = cdmkm_tmpfile,
	.setattr = cdmkm_setattr,
	.getattr = simple_getattr,
	.listxattr = cdmkm_listxattr,
};

static struct inode *cdmkm_alloc_inode(struct super_block *sb)
{
	struct cdmkm_inode *ci;

	ci = alloc_inode_sb(sb, cdmkm_inode_cache, GFP_KERNEL);
	if (!ci)
		return NULL;
	ci->region = sb->s_fs_info;
	init_rwsem(&ci->pages_sem);
	xa_init(&ci->pages);
	mutex_init(&ci->xattr_lock);
	INIT_LIST_HEAD(&ci->xattrs);
	ci->xattr_bytes = 0;
	ci->mode = CDMKM_PLACE_DEVICE;
	ci->nid = -1;
	INIT_LIST_HEAD(&ci->region_node);
	return &ci->vfs_inode;
}

static void cdmkm_evict_inode(struct inode *inode)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);

	truncate_inode_pages_final(&inode->i_data);
	if (S_ISREG(inode->i_mode)) {
		mutex_lock(&ci->region->files_lock);
		list_del_init(&ci->region_node);
		mutex_unlock(&ci->region->files_lock);
		down_write(&ci->pages_sem);
		cdmkm_drop_pages(ci, 0, ULONG_MAX);
		up_write(&ci->pages_sem);
	}
	cdmkm_xattrs_free(ci);
	clear_inode(inode);
}

static void cdmkm_free_inode(struct inode *inode)
{
	if (S_ISLNK(inode->i_mode))
		kfree(inode->i_link);
	kmem_cache_free(cdmkm_inode_cache, CDMKM_I(inode));
}

static int cdmkm_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct cdmkm_dev *r = dentry->d_sb->s_fs_info;

	buf->f_type = CDMKM_SUPER_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_blocks = r->npages;
	buf->f_bfree = buf->f_bavail = region_free_pages(r);
	buf->f_namelen = NAME_MAX;
	return 0;
}

static int cdmkm_show_options(struct seq_file *m, struct dentry *root)
{
	struct cdmkm_dev *r = root->d_sb->s_fs_info;

	seq_printf(m, ",region=%s", r->name);
	return 0;
}

static const struct super_operations cdmkm_sops = {
	.alloc_inode = cdmkm_alloc_inode,
	.free_inode = cdmkm_free_inode,
	.evict_inode = cdmkm_evict_inode,
	.drop_inode = generic_delete_inode,
	.statfs = cdmkm_statfs,
	.show_options = cdmkm_show_options,
};

/* ---- the filesystem type -------------------------------------------------- */

enum { Opt_region };

static const struct fs_parameter_spec cdmkm_fs_params[] = {
	fsparam_string("region", Opt_region),
	{}
};

static int cdmkm_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, cdmkm_fs_params, param, &result);
	if (opt < 0)
		return opt;
	/* looked up in get_tree, under cdmkm_lock: regions can go away */
	kfree(fc->fs_private);
	fc->fs_private = param->string;
	param->string = NULL;
	return 0;
}

static int cdmkm_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct cdmkm_dev *r = sb->s_fs_info;
	struct inode *root;

	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = CDMKM_SUPER_MAGIC;
	sb->s_op = &cdmkm_sops;
	sb->s_xattr = cdmkm_xattr_handlers;
	sb->s_d_op = &simple_dentry_operations;
	sb->s_time_gran = 1;
	root = cdmkm_get_inode(sb, NULL, S_IFDIR | 0755, 0);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	/* under cdmkm_lock, taken by cdmkm_get_tree() */
	atomic_inc(&r->mounts);
	return 0;
}

static int cdmkm_get_tree(struct fs_context *fc)
{
	struct cdmkm_dev *r;
	int ret;

	if (!fc->fs_private)
		return invalfc(fc, "missing region=NAME");
	/* held across fill_super, so a region is never deleted mid-mount */
	mutex_lock(&cdmkm_lock);
	r = region_find(fc->fs_private);
	if (r)
		ret = get_tree_keyed(fc, cdmkm_fill_super, r);
	else
		ret = invalfc(fc, "no region named %s", (char *)fc->fs_private);
	mutex_unlock(&cdmkm_lock);
	return ret;
}

static void cdmkm_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations cdmkm_context_ops = {
	.free = cdmkm_free_fc,
	.parse_param = cdmkm_parse_param,
	.get_tree = cdmkm_get_tree,
};

static int cdmkm_init_fs_context(struct fs_context *fc)
{
	fc->ops = &cdmkm_context_ops;
	return 0;
}

static void cdmkm_kill_sb(struct super_block *sb)
{
	struct cdmkm_dev *r = sb->s_fs_info;
	bool counted = sb->s_root != NULL;

	kill_litter_super(sb);
	/* every page of every file is back in the region now */
	if (r && counted)
		atomic_dec(&r->mounts);
}

struct file_system_type cdmkm_fs_type = {
	.owner = THIS_MODULE,
	.name = CDMKM_FSTYPE,
	.init_fs_context = cdmkm_init_fs_context,
	.parameters = cdmkm_fs_params,
	.kill_sb = cdmkm_kill_sb,
};

static void cdmkm_inode_init_once(void *p)
{
	struct cdmkm_inode *ci = p;

	inode_init_once(&ci->vfs_inode);
}

int cdmkm_inode_cache_init(void)
{
	cdmkm_inode_cache = kmem_cache_create("cdmkm_inode",
					      sizeof(struct cdmkm_inode), 0,
					      SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					      cdmkm_inode_init_once);
	return cdmkm_inode_cache ? 0 : -ENOMEM;
}

void cdmkm_inode_cache_exit(void)
{
	rcu_barrier();	/* inodes are freed after a grace period */
	kmem_cache_destroy(cdmkm_inode_cache);
}
