/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Admin API key: its rules, the key generated when none is configured,
 * and the comparison.
 *
 * With no xlb.admin.api_key, xlbd makes a random key at its first start
 * and keeps it in /run/xlb/api_key for the default pin dir (/sys/fs/bpf/xlb),
 * /run/xlb/api_key.<pin dir, '/' as '_'> for another (--pin-dir
 * /run/t/bpf/lb: /run/xlb/api_key.run_t_bpf_lb), a file only root can read
 * (0600, in a 0700 folder). Later starts read the same file; xlb reads
 * it when it is given no key, so local commands work and the API is never
 * open. /run is emptied at boot, as the pinned maps are.
 */
#ifndef XLB_APIKEY_H
#define XLB_APIKEY_H

#include <stddef.h>

#define XLB_API_KEY_DIR	    "/run/xlb"
#define XLB_API_KEY_LEN	    128		/* with its NUL: xlb.admin.api_key's size */
#define XLB_API_KEY_MIN	    16		/* off loopback, at least this long */
#define XLB_API_KEY_EXAMPLE "CHANGE-ME" /* the documentation's: refused off loopback */

/* The key file for pin_dir, into path[len]. 0 or -ENAMETOOLONG. */
int xlb_api_key_path(const char *pin_dir, char *path, size_t len);

/*
 * Read the key in the file at path into key[len] (len >= XLB_API_KEY_LEN).
 * With create, a missing file (and its folder) is made first, with a new
 * random key. The file must be a regular file of this user's that no one
 * else may read or write (-EPERM otherwise), holding 16 to 127 printable
 * characters (-EINVAL otherwise). 0 or -errno.
 */
int xlb_api_key_load(const char *path, int create, char *key, size_t len);

/*
 * 1 when given equals key; the time taken depends only on key's length,
 * not on where given differs.
 */
int xlb_api_key_equal(const char *given, const char *key);

#endif /* XLB_APIKEY_H */
