/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maglev table build (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, section 3.4), with weights.
 *
 * Algorithm. The table has M slots, M prime. Every backend i gets a
 * permutation of the slots from two independent hashes of its key:
 *
 *	offset_i = h1(key_i, seed) % M
 *	skip_i   = h2(key_i, seed) % (M - 1) + 1
 *	perm_i[j] = (offset_i + j * skip_i) % M
 *
 * (M prime and 1 <= skip_i < M make perm_i a permutation.) Backends then
 * take turns in a fixed order; on its turn a backend claims the first slot
 * of its permutation that is still free. This repeats until every slot is
 * taken. Each backend gets about M / N slots, and removing a backend
 * moves little more than that backend's own slots, because the others'
 * preferences do not change.
 *
 * Weights by turn-skipping. Round r = 1, 2, ... visits the backends in
 * order; backend i (weight w_i, largest weight W) takes its turn in round
 * r only while it is behind its share, i.e. while placed_i * W < w_i * r.
 * The heaviest backends play every round, a backend of half that weight
 * every other round, and so on, so the slot counts follow the weights to
 * within about one slot. We keep d_i = w_i * r - placed_i * W, adding w_i
 * each round and W on each turn: one addition and one sign test per
 * backend and round, no division. Only the weight ratios matter: scaling
 * every weight by the same factor gives the same table.
 *
 * Determinism. The table must be byte-identical on every LB node that
 * sees the same backends (see DESIGN.md, scale-out), so:
 *  - the turn order is the byte order of the keys (strcmp, unsigned bytes,
 *    no locale), never the caller's order;
 *  - the hashes read the key bytes one by one into 64-bit words (no
 *    alignment or byte-order dependence) and use only fixed-width unsigned
 *    arithmetic; no pointer values, no random numbers;
 *  - every other step is exact integer arithmetic.
 *
 * Hashes. h1 and h2 are MurmurHash64A (Appleby) over the key bytes,
 * seeded with the 32-bit table seed in the low half and a different
 * constant in the high half, then finished with the splitmix64 mixer so
 * that keys differing in one character (backends on adjacent addresses)
 * land far apart. Murmur is fast on short strings and mixes far better
 * than FNV-1a; its lack of cryptographic strength does not matter here.
 *
 * Speed (target: M = 65537, N = 1000 weighted in well under 1 ms). The
 * costly part is the search for a free slot: near the end almost every
 * slot is taken and a backend probes about M / free slots per turn, so the
 * plain loop probes about M * ln(M) times in all, half of them in the last
 * sqrt(M) turns. We keep
 *  - per-backend state (position, skip, deficit, id) in one compact array,
 *    advancing the position by addition and one conditional subtraction,
 *    never a modulo per probe;
 *  - the taken slots in a bitmap (8 KiB for M = 65537: it stays in L1);
 *  - for the last few free slots (fewer than about sqrt(M)), a list of
 *    them instead of probing: a backend at position p with skip s reaches
 *    free slot f after ((f - p) * s^-1) mod M steps, so its next slot is
 *    the free slot with the fewest steps. That is the same slot the probe
 *    loop would find (every slot it would skip is taken), so the table is
 *    the classic one, found with O(free) work per turn instead of
 *    O(M / free). s^-1 mod M comes from the extended Euclidean algorithm,
 *    once per backend that plays in this phase.
 * All scratch memory is one allocation per call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xlb/consts.h"
#include "maglev.h"

#define MAGLEV_TAG_OFFSET	0x6f666673ULL	/* "offs": high half of h1's seed */
#define MAGLEV_TAG_SKIP		0x736b6970ULL	/* "skip": high half of h2's seed */
#ifndef WIDE_LEFT
#define WIDE_LEFT (size / 2)
#endif

/*
 * A node of the caller's array, for sorting by key: the first 16 key bytes
 * as two big-endian words (zero-padded) decide most comparisons.
 */
struct maglev_ref {
	__u64 pre[2];
	const char *key;
	__u32 idx;		/* index into the caller's array */
	__u32 len;		/* strlen(key), if it fits; else -EINVAL */
};

/* Population state of one backend with a non-zero weight. */
struct maglev_state {
	__s64 deficit;		/* w * round - placed * max_w */
	__u32 weight;
	__u32 pos;		/* slot of the next preference */
	__u32 skip;
	__u32 id;
	__u32 inv;		/* skip^-1 mod M; 0 until first needed */
	__u32 pad;
};

int xlb_maglev_size_valid(__u32 n)
{
	__u32 d;

	if (n < 3 || n > XLB_MAGLEV_MAX || !(n & 1))
		return 0;
	for (d = 3; d <= n / d; d += 2) {
		if (n % d == 0)
			return 0;
	}
	return 1;
}

static __u64 maglev_load_le(const unsigned char *p, size_t len)
{
	__u64 v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		v |= (__u64)p[i] << (8 * i);
	return v;
}

/* MurmurHash64A of @len bytes at @p, finished by the splitmix64 mixer. */
static __u64 maglev_hash(const char *key, size_t len, __u64 seed)
{
	const __u64 m = 0xc6a4a7935bd1e995ULL;
	const unsigned char *p = (const unsigned char *)key;
	__u64 h = seed ^ (len * m);
	__u64 k;

	for (; len >= 8; p += 8, len -= 8) {
		k = maglev_load_le(p, 8);
		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (len) {
		h ^= maglev_load_le(p, len);
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;

	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* strcmp() order: bytes as unsigned, a prefix before its extensions. */
static inline int maglev_ref_cmp(const struct maglev_ref *x,
				 const struct maglev_ref *y)
{
	if (x->pre[0] != y->pre[0])
		return x->pre[0] < y->pre[0] ? -1 : 1;
	if (x->pre[1] != y->pre[1])
		return x->pre[1] < y->pre[1] ? -1 : 1;
	if (x->len < 16)	/* then y->len == x->len: the same key */
		return 0;
	return strcmp(x->key + 16, y->key + 16);
}

/*
 * Stable merge sort of @n refs by key (insertion sort for runs of 16, then
 * merge passes between @a and @tmp). Returns the array that holds the
 * result: @a or @tmp. Our own, not qsort(): the comparison inlines.
 */
static struct maglev_ref *maglev_ref_sort(struct maglev_ref *a,
					  struct maglev_ref *tmp, size_t n)
{
	struct maglev_ref *src = a, *dst = tmp, *t, v;
	size_t run, lo, mid, hi, i, j, k;

	for (lo = 0; lo < n; lo += 16) {
		hi = lo + 16 < n ? lo + 16 : n;
		for (i = lo + 1; i < hi; i++) {
			v = a[i];
			for (j = i; j > lo && maglev_ref_cmp(&v, &a[j - 1]) < 0; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
	}
	for (run = 16; run < n; run *= 2) {
		for (lo = 0; lo < n; lo += 2 * run) {
			mid = lo + run < n ? lo + run : n;
			hi = lo + 2 * run < n ? lo + 2 * run : n;
			for (i = lo, j = mid, k = lo; k < hi; k++) {
				if (j >= hi || (i < mid &&
						maglev_ref_cmp(&src[j], &src[i]) >= 0))
					dst[k] = src[i++];
				else
					dst[k] = src[j++];
			}
		}
		t = src;
		src = dst;
		dst = t;
	}
	return src;
}

static void maglev_ref_init(struct maglev_ref *r, const char *key, __u32 idx)
{
	size_t len = strlen(key), i;

	r->pre[0] = 0;
	r->pre[1] = 0;
	for (i = 0; i < 16 && i < len; i++)
		r->pre[i / 8] |= (__u64)(unsigned char)key[i] << (56 - 8 * (i % 8));
	r->key = key;
	r->idx = idx;
	r->len = len > 0xffffffffU ? 0xffffffffU : (__u32)len;
}

/* Inverse of @a modulo the prime @m, for 0 < @a < @m. */
static __u32 maglev_inverse(__u32 a, __u32 m)
{
	__s64 t = 0, new_t = 1, q, tmp;
	__u32 r = m, new_r = a, tmp_r;

	while (new_r) {
		q = r / new_r;
		tmp = t - q * new_t;
		t = new_t;
		new_t = tmp;
		tmp_r = r - (__u32)q * new_r;
		r = new_r;
		new_r = tmp_r;
	}
	return (__u32)(t < 0 ? t + m : t);
}

/* The slot after @pos in a permutation with step @skip. */
static inline __u32 maglev_next(__u32 pos, __u32 skip, __u32 size)
{
	pos += skip;
	return pos >= size ? pos - size : pos;
}

/*
 * Tail phase: the free slot that the backend @s reaches first. @nfree
 * slots are listed in @freelist; returns its index there.
 * steps(f) = ((f - pos) mod M) * skip^-1 mod M, reduced by Barrett's
 * method with @recip = floor(2^64 / M): the operand is below M^2 < 2^40,
 * so one correction suffices and the result is exact.
 */
static __u32 maglev_tail_pick(struct maglev_state *s, const __u32 *freelist,
			      __u32 nfree, __u32 size, __u64 recip)
{
	__u32 best = 0, best_steps = size, i;

	if (!s->inv)
		s->inv = maglev_inverse(s->skip, size);
	for (i = 0; i < nfree; i++) {
		__u32 d = freelist[i] >= s->pos ? freelist[i] - s->pos
					    : freelist[i] + size - s->pos;
		__u64 x = (__u64)d * s->inv;
		__u64 q = (__u64)(((unsigned __int128)x * recip) >> 64);
		__u32 steps = (__u32)(x - q * size);

		if (steps >= size)
			steps -= size;
		if (steps < best_steps) {
			best_steps = steps;
			best = i;
		}
	}
	return best;
}

/* Number of free slots at which the population switches to the free list. */
static __u32 maglev_tail_len(__u32 size)
{
	__u32 t = 1;

	while (t * t < size)
		t++;
	return t;
}

/*
 * Validate @nodes and write the backends with a non-zero weight, in key
 * order, to @st. Returns the number written or a negative errno.
 */
static long maglev_prepare(const struct xlb_maglev_node *nodes, size_t n,
			   __u32 size, __u32 seed, struct maglev_ref *refs,
			   struct maglev_state *st, __u32 *max_w)
{
	size_t i, active = 0;

	for (i = 0; i < n; i++) {
		if (!nodes[i].key)
			return -EINVAL;
		if (nodes[i].weight && nodes[i].id == XLB_NO_BACKEND)
			return -EINVAL;
		maglev_ref_init(&refs[i], nodes[i].key, (__u32)i);
	}
	refs = maglev_ref_sort(refs, refs + n, n);

	*max_w = 0;
	for (i = 0; i < n; i++) {
		const struct xlb_maglev_node *nd = &nodes[refs[i].idx];
		size_t len = refs[i].len;

		if (i && !maglev_ref_cmp(&refs[i - 1], &refs[i]))
			return -EINVAL;
		if (!nd->weight)
			continue;
		st[active] = (struct maglev_state){
			.weight = nd->weight,
			.pos = (__u32)(maglev_hash(nd->key, len,
						   (MAGLEV_TAG_OFFSET << 32) | seed) % size),
			.skip = (__u32)(maglev_hash(nd->key, len,
						    (MAGLEV_TAG_SKIP << 32) | seed) % (size - 1)) + 1,
			.id = nd->id,
		};
		if (nd->weight > *max_w)
			*max_w = nd->weight;
		active++;
	}
	return (long)active;
}

/* Is slot @c taken? */
static inline __u64 maglev_taken(const __u64 *taken, __u32 c)
{
	return (taken[c >> 6] >> (c & 63)) & 1;
}

/*
 * The first free slot in the permutation from @c on, four preferences at
 * a time: their loads are independent, and the loop branch goes the
 * unexpected way less often, which matters more than the extra loads.
 */
static inline __u32 maglev_probe4(__u32 c, __u32 skip, const __u64 *taken,
				  __u32 size)
{
	__u32 s2 = maglev_next(skip, skip, size);
	__u32 s3 = maglev_next(s2, skip, size);
	__u32 s4 = maglev_next(s3, skip, size);
	__u32 c1, c2, c3, cand[4];
	__u64 busy;

	for (;;) {
		c1 = maglev_next(c, skip, size);
		c2 = maglev_next(c, s2, size);
		c3 = maglev_next(c, s3, size);
		busy = maglev_taken(taken, c) |
		       maglev_taken(taken, c1) << 1 |
		       maglev_taken(taken, c2) << 2 |
		       maglev_taken(taken, c3) << 3;
		if (busy != 0xf)
			break;
		c = maglev_next(c, s4, size);
	}
	cand[0] = c;
	cand[1] = c1;
	cand[2] = c2;
	cand[3] = c3;
	return cand[__builtin_ctzll(~busy)];
}

/* Collect the slots still free in @taken into @freelist; returns how many. */
static __u32 maglev_collect_free(const __u64 *taken, __u32 size,
				 __u32 *freelist)
{
	__u32 w, c, nfree = 0, nw = (size + 63) / 64;

	for (w = 0; w < nw; w++) {
		__u64 bits = ~taken[w];

		while (bits) {
			c = w * 64 + (__u32)__builtin_ctzll(bits);
			if (c >= size)
				break;
			freelist[nfree++] = c;
			bits &= bits - 1;
		}
	}
	return nfree;
}

/*
 * A run of turns: the players @players[@p ...] place one slot each until
 * the round ends or only @stop slots are left. Each phase has its own
 * loop so that the hot ones stay small. Returns the next player index.
 */
static __u32 maglev_run_narrow(struct maglev_state *st, const __u32 *players,
			       __u32 p, __u32 nplay, __u32 *left, __u32 stop,
			       __u32 size, __u64 *taken, __u32 *table)
{
	for (; p < nplay && *left > stop; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 c = s->pos;

		while (maglev_taken(taken, c))
			c = maglev_next(c, s->skip, size);
		taken[c >> 6] |= 1ULL << (c & 63);
		table[c] = s->id;
		s->pos = maglev_next(c, s->skip, size);
	}
	return p;
}

static __u32 maglev_run_wide(struct maglev_state *st, const __u32 *players,
			     __u32 p, __u32 nplay, __u32 *left, __u32 stop,
			     __u32 size, __u64 *taken, __u32 *table)
{
	for (; p < nplay && *left > stop; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 c = maglev_probe4(s->pos, s->skip, taken, size);

		taken[c >> 6] |= 1ULL << (c & 63);
		table[c] = s->id;
		s->pos = maglev_next(c, s->skip, size);
	}
	return p;
}

static __u32 maglev_run_tail(struct maglev_state *st, const __u32 *players,
			     __u32 p, __u32 nplay, __u32 *left, __u32 size,
			     __u32 *freelist, __u32 *table)
{
	__u64 recip = ~0ULL / size;

	for (; p < nplay && *left; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 k = maglev_tail_pick(s, freelist, *left, size, recip);
		__u32 c = freelist[k];

		freelist[k] = freelist[*left - 1];
		table[c] = s->id;
		s->pos = maglev_next(c, s->skip, size);
	}
	return p;
}

/*
 * The population loop: rounds over @st until all @size slots are taken.
 * Each round first lists the backends whose turn it is (branch-free, so
 * the skipped turns of light backends cost no mispredicted branches),
 * then places one slot for each: by single probes while the table is
 * less than WIDE full, four probes at a time after that, and from the
 * free list for the last maglev_tail_len() slots. @taken is a zeroed
 * bitmap of @size bits; @players has room for @active entries, @freelist
 * for maglev_tail_len(@size).
 */
static void maglev_populate(struct maglev_state *st, __u32 active,
			    __u32 max_w, __u32 size, __u64 *taken,
			    __u32 *players, __u32 *freelist, __u32 *table)
{
	__u32 tail = maglev_tail_len(size), wide = WIDE_LEFT;
	__u32 left = size, nplay, i, p;

	if (wide < tail)
		wide = tail;
	while (left) {
		for (i = 0, nplay = 0; i < active; i++) {
			__s64 d = st[i].deficit + st[i].weight;
			__s64 play = d > 0;

			st[i].deficit = d - (play ? (__s64)max_w : 0);
			players[nplay] = i;
			nplay += (__u32)play;
		}
		p = maglev_run_narrow(st, players, 0, nplay, &left, wide,
				      size, taken, table);
		p = maglev_run_wide(st, players, p, nplay, &left, tail,
				    size, taken, table);
		if (p == nplay)
			continue;
		if (left == tail)
			maglev_collect_free(taken, size, freelist);
		maglev_run_tail(st, players, p, nplay, &left, size, freelist,
				table);
	}
}

int xlb_maglev_build(const struct xlb_maglev_node *nodes, size_t n, __u32 size,
		     __u32 seed, __u32 *table)
{
	size_t refs_len, st_len, play_len, bits_len, free_len;
	__u32 max_w, i, *players, *freelist;
	struct maglev_state *st;
	struct maglev_ref *refs;
	__u64 *taken;
	char *mem;
	long active;

	if (!xlb_maglev_size_valid(size) || !table || (n && !nodes))
		return -EINVAL;
	if (n > XLB_MAX_BACKENDS)
		return -EINVAL;

	refs_len = 2 * n * sizeof(*refs);
	st_len = n * sizeof(*st);
	play_len = n * sizeof(*players);
	bits_len = (size + 63) / 64 * sizeof(*taken);
	free_len = maglev_tail_len(size) * sizeof(*freelist);
	mem = malloc(refs_len + st_len + play_len + bits_len + free_len);
	if (!mem)
		return -ENOMEM;
	refs = (struct maglev_ref *)mem;
	st = (struct maglev_state *)(mem + refs_len);
	taken = (__u64 *)(mem + refs_len + st_len);
	players = (__u32 *)(mem + refs_len + st_len + bits_len);
	freelist = (__u32 *)(mem + refs_len + st_len + bits_len + play_len);

	active = maglev_prepare(nodes, n, size, seed, refs, st, &max_w);
	if (active < 0)
		goto out_free;
	if (!active) {
		for (i = 0; i < size; i++)
			table[i] = XLB_NO_BACKEND;
		goto out_free;
	}
	memset(taken, 0, bits_len);
	maglev_populate(st, (__u32)active, max_w, size, taken, players,
			freelist, table);
	active = 0;
out_free:
	free(mem);
	return (int)active;
}
