/* SPDX-License-Identifier: MIT */
/*
 * Is a device or image mounted? Compared by device number against
 * /proc/self/mountinfo; an image file counts as mounted when a loop device
 * backed by it is.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "xfs/xfs.h"

static int dev_mounted(dev_t dev, char *where, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[2048];
		if (sscanf(line, "%*d %*d %u:%u %*s %2047s", &maj, &min, mnt) == 3 &&
		    makedev(maj, min) == dev) {
			snprintf(where, len, "%s", mnt);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

int aisio_xfs_mounted(const char *path, char *where, size_t len)
{
	char real[PATH_MAX], bf[PATH_MAX + 2], p[512];
	struct stat st;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return dev_mounted(st.st_rdev, where, len);
	if (!S_ISREG(st.st_mode) || !realpath(path, real))
		return 0;
	d = opendir("/sys/block");
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		FILE *f;
		struct stat lst;
		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(bf, sizeof(bf), f)) {
			bf[strcspn(bf, "\n")] = '\0';
			snprintf(p, sizeof(p), "/dev/%s", de->d_name);
			if (!strcmp(bf, real) && stat(p, &lst) == 0 && S_ISBLK(lst.st_mode))
				ret = dev_mounted(lst.st_rdev, where, len);
		}
		fclose(f);
	}
	closedir(d);
	return ret < 0 ? 0 : ret;
}
