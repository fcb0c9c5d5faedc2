/*
 * cdmkmctl: manage the cdmkm helper module's regions and files.
 *
 *   cdmkmctl list
 *   cdmkmctl add NAME START SIZE [NID]
 *   cdmkmctl del NAME
 *   cdmkmctl fail NAME evacuate|dead
 *   cdmkmctl place FILE device|preferred|ram[:NID]
 *   cdmkmctl migrate FILE device|ram[:NID] [OFFSET LENGTH]
 *   cdmkmctl residency FILE
 *
 * START, SIZE, OFFSET and LENGTH take K, M, G suffixes (powers of 1024).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include "cdmfs/cdmkmio.h"
#include "cdmfs/size.h"

static const char *prog = "cdmkmctl";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s list\n"
		"       %s add NAME START SIZE [NID]\n"
		"       %s del NAME\n"
		"       %s fail NAME evacuate|dead\n"
		"       %s place FILE device|preferred|ram[:NID]\n"
		"       %s migrate FILE device|ram[:NID] [OFFSET LENGTH]\n"
		"       %s residency FILE\n",
		prog, prog, prog, prog, prog, prog, prog);
	exit(2);
}

static int die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

/* A byte count or address (0x...) with an optional K/M/G/T suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	return cdm_size_parse(s, CDM_SIZE_HEX, out);
}

/* device | preferred | ram[:NID] */
static int parse_target(const char *s, uint32_t *mode, int32_t *nid)
{
	char *end;

	*nid = -1;
	if (!strcmp(s, "device")) {
		*mode = CDMKM_PLACE_DEVICE;
		return 0;
	}
	if (!strcmp(s, "preferred")) {
		*mode = CDMKM_PLACE_PREFERRED;
		return 0;
	}
	if (strncmp(s, "ram", 3))
		return -1;
	*mode = CDMKM_PLACE_RAM;
	if (!s[3])
		return 0;
	if (s[3] != ':' || !s[4])
		return -1;
	*nid = (int32_t)strtol(s + 4, &end, 10);
	return *end || *nid < 0 ? -1 : 0;
}

static int ctl_failed(int err)
{
	fprintf(stderr, "%s: %s: %s (is the cdmkm module loaded?)\n", prog,
		CDMKM_CTL_PATH, strerror(-err));
	return 1;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case CDMKM_ONLINE: return "online";
	case CDMKM_OFFLINE: return "offline";
	case CDMKM_DEAD: return "dead";
	}
	return "?";
}

static int cmd_list(void)
{
	struct cdmkm_region r;
	int fd = cdmkm_ctl_open(O_RDONLY), ret;
	uint32_t i;

	if (fd < 0)
		return ctl_failed(fd);
	printf("%-12s %-12s %10s %4s %-8s %10s %10s %6s %6s\n", "NAME", "START",
	       "SIZE", "NODE", "STATE", "USED", "LOST", "FILES", "MOUNTS");
	for (i = 0; !(ret = cdmkm_region_at(fd, i, &r)); i++) {
		printf("%-12s %#-12" PRIx64 " %10" PRIu64 " %4d %-8s %10" PRIu64
		       " %10" PRIu64 " %6u %6u\n", r.name, (uint64_t)r.start,
		       (uint64_t)r.size, r.nid, state_name(r.state),
		       (uint64_t)r.used, (uint64_t)r.lost, r.files, r.mounts);
	}
	close(fd);
	return ret == -ENOENT ? 0 : die("region info", -ret);
}

static int cmd_region(bool add, int argc, char **argv)
{
	struct cdmkm_region r = { .nid = -1 };
	uint64_t start, size;
	char *end;
	int ret;

	if (argc < 1 || strlen(argv[0]) >= sizeof(r.name))
		usage();
	strcpy(r.name, argv[0]);
	if (add) {
		if (argc < 3 || argc > 4 || parse_size(argv[1], &start) ||
		    parse_size(argv[2], &size))
			usage();
		r.start = start;
		r.size = size;
		if (argc == 4) {
			r.nid = (int32_t)strtol(argv[3], &end, 10);
			if (*end || r.nid < 0)
				usage();
		}
	} else if (argc != 1) {
		usage();
	}
	ret = add ? cdmkm_region_add(&r) : cdmkm_region_del(r.name);
	if (ret == -ENOENT)
		return ctl_failed(ret);
	return ret ? die(r.name, -ret) : 0;
}

static int cmd_fail(int argc, char **argv)
{
	uint64_t moved, lost;
	int ret;

	if (argc != 2 || (strcmp(argv[1], "evacuate") && strcmp(argv[1], "dead")))
		usage();
	ret = cdmkm_fail(argv[0], argv[1], &moved, &lost);
	if (ret == -ENOENT) {
		fprintf(stderr, "%s: /sys/kernel/debug/cdmkm/fail: %s (debugfs mounted? module loaded?)\n",
			prog, strerror(-ret));
		return 1;
	}
	if (ret)
		return die(argv[0], -ret);
	printf("moved=%" PRIu64 " lost=%" PRIu64 "\n", moved, lost);
	return 0;
}

static int cmd_file(const char *cmd, int argc, char **argv)
{
	struct cdmkm_usage res;
	struct cdmkm_placement pl;
	uint64_t off = 0, len = UINT64_MAX, moved, failed;
	int fd, ret = 0, err;
	uint32_t i;

	if (argc < 1)
		usage();
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return die(argv[0], errno);
	if (!strcmp(cmd, "residency")) {
		if (argc != 1)
			usage();
		err = cdmkm_usage_get(fd, &res);
		if (err) {
			ret = die(argv[0], -err);
			goto out;
		}
		printf("device=%" PRIu64, res.device);
		for (i = 0; i < res.nr_nodes; i++)
			if (res.ram[i])
				printf(" ram%u=%" PRIu64, i, res.ram[i]);
		printf(" lost=%" PRIu64 "\n", res.lost);
		cdmkm_usage_free(&res);
	} else if (!strcmp(cmd, "place")) {
		if (argc != 2 || parse_target(argv[1], &pl.mode, &pl.nid))
			usage();
		err = cdmkm_place(fd, pl.mode, pl.nid);
		if (err)
			ret = die(argv[0], -err);
	} else {
		if ((argc != 2 && argc != 4) || parse_target(argv[1], &pl.mode, &pl.nid) ||
		    pl.mode == CDMKM_PLACE_PREFERRED)
			usage();
		if (argc == 4 &&
		    (parse_size(argv[2], &off) || parse_size(argv[3], &len)))
			usage();
		moved = failed = 0;
		err = cdmkm_migrate(fd, off, len, pl.mode == CDMKM_PLACE_DEVICE,
				    pl.nid, &moved, &failed);
		printf("moved=%" PRIu64, moved);
		if (err) {
			printf(" failed_offset=%" PRIu64 " error=%s\n", failed,
			       strerror(-err));
			ret = 1;
		} else {
			printf("\n");
		}
	}
out:
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "list") && argc == 2)
		return cmd_list();
	if (!strcmp(argv[1], "add"))
		return cmd_region(true, argc - 2, argv + 2);
	if (!strcmp(argv[1], "del"))
		return cmd_region(false, argc - 2, argv + 2);
	if (!strcmp(argv[1], "fail"))
		return cmd_fail(argc - 2, argv + 2);
	if (!strcmp(argv[1], "place") || !strcmp(argv[1], "migrate") ||
	    !strcmp(argv[1], "residency"))
		return cmd_file(argv[1], argc - 2, argv + 2);
	usage();
	return 2;
}
