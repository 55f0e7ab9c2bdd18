/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Growing arrays for collecting map entries in libxlb: room for one more
 * element in one or two parallel arrays that share a count and capacity.
 */
#ifndef XLB_VEC_H
#define XLB_VEC_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make room for element n: when n == *cap, double the capacity (first
 * allocation: first) of *a (elements of asz bytes) and, if b is not NULL,
 * of *b (bsz bytes). Returns 0 or -ENOMEM; the arrays stay valid either way.
 */
static inline int xlb_vec_room(void **a, size_t asz, void **b, size_t bsz, size_t n, size_t *cap,
			       size_t first)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : first;
	p = realloc(*a, ncap * asz);
	if (!p)
		return -ENOMEM;
	*a = p;
	if (b) {
		p = realloc(*b, ncap * bsz);
		if (!p)
			return -ENOMEM;
		*b = p;
	}
	*cap = ncap;
	return 0;
}

#endif /* XLB_VEC_H */
