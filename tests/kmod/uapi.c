// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cdmkm module's user interface at its edges, in the manner of the
 * kernel's hmm-tests: each case calls the ioctls (through cdmkmio, the one
 * wrapper, or raw where the wrapper would refuse first) and checks the
 * kernel's answer.  Runs as root in the test guest on a mounted region
 * (tests/kmod/test_kmod_uapi.sh):
 *
 *	kmod-uapi MOUNTDIR REGION START SIZE MOUNTDIR2 REGION2
 *
 * REGION (mounted on MOUNTDIR) fails gracefully (evacuated), REGION2 dies
 * with pages in it.
 * Output: one "ok"/"FAIL" line per check and a count; exit 1 on a failure.
 * The failure cases run last: they leave the region dead.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdmfs/cdmkmio.h"
#include "cdmfs/size.h"

static unsigned int n_passed, n_failed;
static const char *dir, *region, *dir2, *region2;
static uint64_t rstart, rsize;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "ok   " : "FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		n_passed++;
	else
		n_failed++;
}

/* @what returned @got; the case wants -@want (0 for success). */
static void expect(const char *what, int got, int want)
{
	check(got == -want, "%s: %s (want %s)", what,
	      got ? strerror(-got) : "0", want ? strerror(want) : "0");
}

static int raw(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* A file of @mib MiB of 0x5a bytes in the region; its fd. */
static int make_file_in(const char *in, const char *name, unsigned int mib)
{
	char path[4096], buf[1 << 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", in, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		check(0, "create %s: %s", path, strerror(errno));
		exit(1);
	}
	memset(buf, 0x5a, sizeof(buf));
	for (unsigned int i = 0; i < mib * 16; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			check(0, "write %s: %s", path, strerror(errno));
			exit(1);
		}
	return fd;
}

static int make_file(const char *name, unsigned int mib)
{
	return make_file_in(dir, name, mib);
}

static void test_regions(void)
{
	struct cdmkm_region r = { .nid = -1 };
	int ctl = cdmkm_ctl_open(O_RDWR);

	if (ctl < 0) {
		check(0, "open " CDMKM_CTL_PATH ": %s", strerror(-ctl));
		exit(1);
	}
	expect("region info past the last", cdmkm_region_at(ctl, 1000, &r), ENOENT);
	expect("region info of ours", cdmkm_region_find(region, &r), 0);
	check(r.start == rstart && r.size == rsize && r.state == CDMKM_ONLINE &&
	      r.mounts == 1, "it is %#" PRIx64 "+%#" PRIx64 ", online, mounted once",
	      (uint64_t)r.start, (uint64_t)r.size);

	r = (struct cdmkm_region){ .start = rstart + 4096, .size = 2 << 20, .nid = -1 };
	strcpy(r.name, "t-unaligned");
	expect("add: start not 2 MiB aligned", cdmkm_region_add(&r), EINVAL);
	r.start = rstart;
	r.size = 0;
	expect("add: size 0", cdmkm_region_add(&r), EINVAL);
	r.size = UINT64_MAX - (2 << 20) + 1;
	expect("add: start + size wraps", cdmkm_region_add(&r), EINVAL);
	r.size = 2 << 20;
	strcpy(r.name, ".hidden");
	expect("add: name starts with a dot", cdmkm_region_add(&r), EINVAL);
	strcpy(r.name, "a/b");
	expect("add: name with a slash", cdmkm_region_add(&r), EINVAL);
	strcpy(r.name, "t-node");
	r.nid = 4000;
	expect("add: node 4000", cdmkm_region_add(&r), EINVAL);
	r.nid = -1;
	strcpy(r.name, region);
	expect("add: a name that exists", cdmkm_region_add(&r), EEXIST);
	strcpy(r.name, "t-overlap");
	expect("add: inside our region's range", cdmkm_region_add(&r), EBUSY);
	expect("del: a mounted region", cdmkm_region_del(region), EBUSY);
	expect("del: no such region", cdmkm_region_del("t-none"), ENODEV);
	/* failure injection is no ioctl any more (debugfs, fail.c) */
	expect("the old FAIL ioctl number", raw(ctl, _IOWR(CDMKM_IOC_MAGIC, 0x04, char[56]), &r), ENOTTY);
	close(ctl);
}

static void test_placement(void)
{
	struct cdmkm_placement pl = { .mode = 3, .nid = -1 };
	int fd = make_file("place", 1);

	expect("place: mode 3", raw(fd, CDMKM_IOC_SET_PLACEMENT, &pl), EINVAL);
	expect("place: ram on node 5000", cdmkm_place(fd, CDMKM_PLACE_RAM, 5000), ENODEV);
	expect("place: preferred", cdmkm_place(fd, CDMKM_PLACE_PREFERRED, 7), 0);
	expect("get placement", raw(fd, CDMKM_IOC_GET_PLACEMENT, &pl), 0);
	check(pl.mode == CDMKM_PLACE_PREFERRED && pl.nid == -1,
	      "preferred keeps no node (mode %u nid %d)", pl.mode, pl.nid);
	check(write(fd, "", 0) == 0, "a write of 0 bytes writes 0");
	close(fd);
}

static void test_migrate(void)
{
	struct cdmkm_migrate m = { .length = 4096, .to_device = 2 };
	uint64_t moved = 1, failed = 1;
	int fd = make_file("move", 4);

	expect("migrate: to_device 2", raw(fd, CDMKM_IOC_MIGRATE, &m), EINVAL);
	expect("migrate: length 0", cdmkm_migrate(fd, 0, 0, true, -1, &moved, &failed), EINVAL);
	expect("migrate: offset + length wraps",
	       cdmkm_migrate(fd, UINT64_MAX - 4095, 8192, false, -1, &moved, &failed), EINVAL);
	expect("migrate: to node 5000", cdmkm_migrate(fd, 0, 4096, false, 5000, &moved, &failed), ENODEV);
	expect("migrate: past the end of the file",
	       cdmkm_migrate(fd, 1ULL << 40, 1 << 20, false, -1, &moved, &failed), 0);
	check(moved == 0, "nothing past the end moved (%" PRIu64 ")", moved);
	expect("migrate: a hole-free 4 MiB to RAM, whole file",
	       cdmkm_migrate(fd, 0, UINT64_MAX, false, -1, &moved, &failed), 0);
	check(moved == 4 << 20, "4 MiB moved (%" PRIu64 ")", moved);
	expect("migrate: back to the device, one page past the end too",
	       cdmkm_migrate(fd, 0, (4 << 20) + 4096, true, -1, &moved, &failed), 0);
	check(moved == 4 << 20, "4 MiB moved back (%" PRIu64 ")", moved);
	close(fd);
}

static void test_residency(void)
{
	struct cdmkm_residency res = { 0 };
	struct cdmkm_usage u;
	uint64_t one[1] = { 12345 }, moved, failed, ram = 0;
	int fd = make_file("res", 2);

	expect("residency: no array", raw(fd, CDMKM_IOC_RESIDENCY, &res), 0);
	check(res.device == 2 << 20 && res.lost == 0 && res.nr_nodes >= 1,
	      "2 MiB on the device, %u node ids", res.nr_nodes);
	res.pad = 1;
	expect("residency: pad not 0", raw(fd, CDMKM_IOC_RESIDENCY, &res), EINVAL);
	res = (struct cdmkm_residency){ .ram = 8, .nr_nodes = 4 };
	expect("residency: array at a bad address", raw(fd, CDMKM_IOC_RESIDENCY, &res), EFAULT);

	/* to the last node id with memory: counted wherever it is */
	expect("usage", cdmkm_usage_get(fd, &u), 0);
	int last = (int)u.nr_nodes - 1, ret = -ENODEV;

	cdmkm_usage_free(&u);
	for (; last >= 0; last--) {
		ret = cdmkm_migrate(fd, 0, UINT64_MAX, false, last, &moved, &failed);
		if (ret != -ENODEV)
			break;
	}
	expect("migrate to the last node id with memory", ret, 0);
	expect("usage after the move to RAM", cdmkm_usage_get(fd, &u), 0);
	for (uint32_t n = 0; n < u.nr_nodes; n++)
		ram += u.ram[n];
	check(u.device == 0 && u.ram[last] == 2 << 20 && ram == 2 << 20,
	      "all 2 MiB on node %d (device %" PRIu64 ", RAM %" PRIu64 ")", last,
	      u.device, ram);
	cdmkm_usage_free(&u);
	res = (struct cdmkm_residency){ .ram = (uintptr_t)one, .nr_nodes = 1 };
	expect("residency: an array of 1 node", raw(fd, CDMKM_IOC_RESIDENCY, &res), 0);
	check(res.nr_nodes >= (uint32_t)last + 1 && one[0] == (last ? 0 : 2u << 20),
	      "it says %u node ids, wrote only node 0 (%" PRIu64 ")", res.nr_nodes, one[0]);
	close(fd);
}

/* Last: it takes the region offline, then kills it. */
static void test_failure(void)
{
	uint64_t moved, lost, failed;
	char buf[4096];
	int fd = make_file("fail", 2), fd2 = make_file("fail2", 1);
	struct cdmkm_usage u;
	char *map;
	int ret;

	expect("fail: no such region", cdmkm_fail("t-none", "dead", &moved, &lost), ENODEV);
	expect("fail: mode 'melt'", cdmkm_fail(region, "melt", &moved, &lost), EINVAL);
	map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	check(map != MAP_FAILED, "map fail2");
	if (map != MAP_FAILED)
		map[0] = 1;
	expect("fail: evacuate", cdmkm_fail(region, "evacuate", &moved, &lost), 0);
	check(lost == 0 && moved >= 3 << 20, "evacuated %" PRIu64 " bytes, lost %" PRIu64,
	      moved, lost);
	check(map == MAP_FAILED || (map[0] == 1 && map[4096] == 0x5a),
	      "the mapping reads the evacuated data");
	expect("migrate to the offline device",
	       cdmkm_migrate(fd, 0, UINT64_MAX, true, -1, &moved, &failed), ENOSPC);
	check(moved == 0 && failed == 0, "nothing moved, first page left at 0");
	expect("fail: evacuate again", cdmkm_fail(region, "evacuate", &moved, &lost), EINVAL);
	if (map != MAP_FAILED)
		munmap(map, 1 << 20);
	close(fd2);

	/* a file of the device placement whose new pages have nowhere to go */
	close(fd);
	fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	check(fd >= 0, "O_TMPFILE on the offline region");
	ret = fd >= 0 && write(fd, buf, sizeof(buf)) < 0 ? errno : 0;
	check(ret == ENOSPC, "a write to a device-placed file on the offline region: ENOSPC (%s)",
	      strerror(ret));
	expect("fail: dead", cdmkm_fail(region, "dead", &moved, &lost), 0);
	check(lost == 0, "dead after evacuation loses nothing (%" PRIu64 ")", lost);
	expect("fail: dead again", cdmkm_fail(region, "dead", &moved, &lost), EINVAL);
	ret = fd >= 0 && write(fd, buf, sizeof(buf)) < 0 ? errno : 0;
	check(ret == EIO, "a write to a device-placed file on the dead region: EIO (%s)",
	      strerror(ret));
	expect("usage of it", cdmkm_usage_get(fd, &u), 0);
	check(u.device == 0 && u.lost == 0, "nothing on the device, nothing lost");
	cdmkm_usage_free(&u);
	if (fd >= 0)
		close(fd);
}

/* A region that dies with file pages in it: they are lost, and say so. */
static void test_lost(void)
{
	uint64_t moved, lost, failed;
	int fd = make_file_in(dir2, "lost", 2), ret;
	struct cdmkm_usage u;
	char buf[4096];

	expect("fail: dead with 2 MiB in it", cdmkm_fail(region2, "dead", &moved, &lost), 0);
	check(moved == 0 && lost == 2 << 20, "lost %" PRIu64 " bytes, moved %" PRIu64,
	      lost, moved);
	ret = pread(fd, buf, sizeof(buf), 4096) < 0 ? errno : 0;
	check(ret == EIO, "a read of a lost page: EIO (%s)", strerror(ret));
	expect("usage", cdmkm_usage_get(fd, &u), 0);
	check(u.lost == 2 << 20 && u.device == 0, "residency: 2 MiB lost, none on the device");
	cdmkm_usage_free(&u);
	expect("migrate the lost file to RAM",
	       cdmkm_migrate(fd, 0, UINT64_MAX, false, -1, &moved, &failed), 0);
	check(moved == 0, "lost pages do not move (%" PRIu64 ")", moved);
	expect("place it in RAM", cdmkm_place(fd, CDMKM_PLACE_RAM, -1), 0);
	check(ftruncate(fd, 0) == 0 && pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf),
	      "truncated to 0, it takes a write again (in RAM)");
	expect("usage", cdmkm_usage_get(fd, &u), 0);
	check(u.lost == 0 && u.device == 0, "nothing lost after the truncate");
	cdmkm_usage_free(&u);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 7 || cdm_size_parse(argv[3], CDM_SIZE_HEX, &rstart) ||
	    cdm_size_parse(argv[4], CDM_SIZE_HEX, &rsize)) {
		fprintf(stderr, "usage: kmod-uapi MOUNTDIR REGION START SIZE MOUNTDIR2 REGION2\n");
		return 2;
	}
	dir = argv[1];
	region = argv[2];
	dir2 = argv[5];
	region2 = argv[6];
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_regions();
	test_placement();
	test_migrate();
	test_residency();
	test_failure();
	test_lost();
	printf("%u passed, %u failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
