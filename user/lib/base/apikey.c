// SPDX-License-Identifier: GPL-2.0-only
/* The Admin API key; see apikey.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <xlb/consts.h>

#include "base/apikey.h"

#define KEY_BYTES 24 /* random bytes: 48 hex characters */

int xlb_api_key_path(const char *pin_dir, char *path, size_t len)
{
	const char *end = pin_dir + strlen(pin_dir), *p;
	size_t n, dir = strlen(XLB_API_KEY_DIR "/api_key");

	while (end > pin_dir && end[-1] == '/')
		end--;
	while (*pin_dir == '/')
		pin_dir++;
	if (len <= dir)
		return -ENAMETOOLONG;
	memcpy(path, XLB_API_KEY_DIR "/api_key", dir + 1);
	/* The default pin dir's key has the plain name. */
	if ((size_t)(end - pin_dir) == strlen(XLB_PIN_DIR_DEFAULT) - 1 &&
	    !strncmp(pin_dir, &XLB_PIN_DIR_DEFAULT[1], end - pin_dir))
		return 0;
	if (end <= pin_dir)
		return 0;
	if (dir + 1 + (size_t)(end - pin_dir) >= len)
		return -ENAMETOOLONG;
	n = dir;
	path[n++] = '.';
	for (p = pin_dir; p < end; p++)
		path[n++] = *p == '/' ? '_' : *p;
	path[n] = '\0';
	return 0;
}

/* Only this user may have written it, and no one else may read it. */
static int check_owner(const struct stat *st, mode_t others)
{
	return st->st_uid == geteuid() && !(st->st_mode & others) ? 0 : -EPERM;
}

static int make_dir(const char *path)
{
	char dir[4096];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return check_owner(&st, S_IWGRP | S_IWOTH);
}

/* A new key into a temporary file, renamed into place whole. */
static int create_key(const char *path)
{
	unsigned char raw[KEY_BYTES];
	char tmp[4096], text[2 * KEY_BYTES + 2];
	ssize_t n;
	size_t i;
	int fd, err;

	err = make_dir(path);
	if (err)
		return err;
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(text + 2 * i, 3, "%02x", raw[i]);
	text[2 * KEY_BYTES] = '\n';
	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = write(fd, text, sizeof(text) - 1);
	err = n == (ssize_t)sizeof(text) - 1 ? 0 : n < 0 ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	/* link() fails on an existing file: a key made meanwhile stays. */
	if (!err && link(tmp, path) && errno != EEXIST)
		err = -errno;
	unlink(tmp);
	explicit_bzero(text, sizeof(text));
	return err;
}

int xlb_api_key_load(const char *path, int create, char *key, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	if (len < XLB_API_KEY_LEN)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		err = create_key(path);
		if (err)
			return err;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	err = check_owner(&st, S_IRWXG | S_IRWXO);
	if (err)
		goto out_close;
	n = read(fd, key, XLB_API_KEY_LEN);
	if (n < 0) {
		err = -errno;
		goto out_close;
	}
	while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
		n--;
	key[n < XLB_API_KEY_LEN ? n : XLB_API_KEY_LEN - 1] = '\0';
	if (n < XLB_API_KEY_MIN || n >= XLB_API_KEY_LEN)
		err = -EINVAL;
	for (ssize_t i = 0; !err && i < n; i++)
		if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
			err = -EINVAL;
	if (err)
		explicit_bzero(key, len);
out_close:
	close(fd);
	return err;
}

int xlb_api_key_equal(const char *given, const char *key)
{
	size_t glen = strlen(given), klen = strlen(key), i;
	unsigned char diff = glen != klen;

	/* Every byte of key is looked at, whatever given holds. */
	for (i = 0; i < klen; i++)
		diff |= (unsigned char)key[i] ^ (unsigned char)(i < glen ? given[i] : 0);
	return !diff;
}
