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
 * taken. With equal weights each backend gets floor(M / N) or
 * ceil(M / N) slots, and removing a backend moves its own slots plus
 * some more: the others' preferences do not
 * change, but who wins a contested slot late in the build does. The extra
 * grows with N / M (measured for M = 65537 when one of N equal backends
 * goes: N = 10: 1.03 x M / N slots move; N = 100: 1.6 x; N = 1000: 7 x),
 * so the paper's advice holds: M well above 100 * N where disruption
 * matters.
 *
 * Weights by turn-skipping. Round r = 1, 2, ... visits the backends in
 * order; backend i (weight w_i, largest weight W) takes its turn in round
 * r only while it is behind its share, i.e. while
 * placed_i * W < w_i * r - W / 2. The heaviest backends play every round,
 * a backend of half that weight every other round, and so on. The W / 2
 * (integer division) rounds each backend's count to the nearest of its
 * ideal share instead of rounding it up, which halves the error: counts
 * are within about one slot of M * w_i / sum(w) (measured with weights
 * 1..100: at most 1.5 slots; the heaviest backend of a skewed set takes
 * up the others' rounding: 2.2 slots of 44,700). We keep d_i = w_i * r - W / 2 - placed_i * W, adding w_i each
 * round and subtracting W on each turn: one addition and one sign test
 * per backend and round, no division. Only the weight ratios matter
 * (scaling every weight by the same factor gives the same table), and
 * weights are used as given, up to 2^32 - 1.
 *
 * Determinism. The table must be byte-identical on every LB node that
 * sees the same backends (scale-out: several LB nodes behind ECMP must
 * send a flow that moves between them to the same backend), so:
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
 * costly part is the search for a free slot: late in the build almost
 * every slot is taken and a backend probes about M / free slots per turn,
 * about M * ln(M) probes in all, and each turn ends on a branch that the
 * CPU cannot predict. Measured choices (bench/bench_maglev.c):
 *  - per-backend state (position, skip, deficit, id) in one compact array;
 *    positions advance by an addition and a conditional subtraction,
 *    never a modulo per probe;
 *  - the taken slots in a bitmap (8 KiB for M = 65537: it stays in L1; a
 *    byte array is slower);
 *  - each round first lists its players without a branch, so the skipped
 *    turns of light backends cost no mispredicted branches; when most
 *    backends skip most rounds (one heavy backend among many light ones:
 *    that walk would cost O(N * M), 43 ms for N = 1000), a heap of next
 *    turns lists them instead, in the same order (under 1 ms there);
 *  - once the table is half full, where x86-64 CPUs have AVX2, 8 (later
 *    16) preferences are tested at a time with one gather each: fewer
 *    instructions, and the loop's branch goes the unexpected way less
 *    often. About 20% off the build; other CPUs probe one slot at a time
 *    (unrolled scalar probing measured no faster). Both find the first
 *    free slot in permutation order, so both build the same table;
 *  - for the last free slots (about sqrt(M / 2)), a list of them instead
 *    of probing: a backend at position p with skip s reaches free slot f
 *    after ((f - p) * s^-1) mod M steps, so its next slot is the free
 *    slot with the fewest steps. That is the slot the probe loop would
 *    find (every slot it would skip is taken), found with O(free) work
 *    per turn instead of O(M / free). s^-1 mod M comes from the extended
 *    Euclidean algorithm, once per backend that plays in this phase;
 *  - the key sort is our own merge sort on 16-byte big-endian key
 *    prefixes (qsort() with strcmp() cost 4x more).
 * All scratch memory is one allocation per call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MAGLEV_AVX2 1
#endif

#include "xlb/consts.h"
#include "dataplane/maglev.h"

#define MAGLEV_TAG_OFFSET 0x6f666673ULL /* "offs": high half of h1's seed */
#define MAGLEV_TAG_SKIP	  0x736b6970ULL /* "skip": high half of h2's seed */

/*
 * A node of the caller's array, for sorting by key: the first 16 key bytes
 * as two big-endian words (zero-padded) decide most comparisons.
 */
struct maglev_ref {
	__u64 pre[2];
	const char *key;
	size_t len; /* strlen(key) */
	__u32 idx;  /* index into the caller's array */
	__u32 pad;
};

/* Population state of one backend with a non-zero weight. */
struct maglev_state {
	__s64 deficit; /* w * round - max_w / 2 - placed * max_w */
	__u32 weight;
	__u32 pos; /* slot of the next preference */
	__u32 skip;
	__u32 id;
	__u32 inv;   /* skip^-1 mod M; 0 until the tail phase needs it */
	__u32 inv_q; /* floor(inv * 2^32 / M), for maglev_tail_pick() */
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

__u32 xlb_maglev_size_auto(size_t members)
{
	__u64 want = (__u64)XLB_MAGLEV_PER_NODE * (members ? members : 1);
	__u32 p;
	int k;

	/* The largest prime below each power of two, 2^8 to 2^15. */
	for (k = 8; k < 16; k++) {
		for (p = (1U << k) - 1; !xlb_maglev_size_valid(p); p -= 2)
			;
		if (p >= want)
			return p;
	}
	return XLB_MAGLEV_DEFAULT;
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
static inline int maglev_ref_cmp(const struct maglev_ref *x, const struct maglev_ref *y)
{
	if (x->pre[0] != y->pre[0])
		return x->pre[0] < y->pre[0] ? -1 : 1;
	if (x->pre[1] != y->pre[1])
		return x->pre[1] < y->pre[1] ? -1 : 1;
	if (x->len < 16) /* then y->len == x->len: the same key */
		return 0;
	return strcmp(x->key + 16, y->key + 16);
}

/*
 * Stable merge sort of @n refs by key (insertion sort for runs of 16, then
 * merge passes between @a and @tmp). Returns the array that holds the
 * result: @a or @tmp. Our own, not qsort(): the comparison inlines.
 */
static struct maglev_ref *maglev_ref_sort(struct maglev_ref *a, struct maglev_ref *tmp, size_t n)
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
				if (j >= hi || (i < mid && maglev_ref_cmp(&src[j], &src[i]) >= 0))
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
	r->len = len;
	r->idx = idx;
	r->pad = 0;
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
 * steps(f) = d * inv mod M with d = (f - pos) mod M and inv = skip^-1,
 * by Shoup's method: with inv_q = floor(inv * 2^32 / M) precomputed,
 * q = d * inv_q / 2^32 is floor(d * inv / M) or one less (as d < 2^32),
 * so d * inv - q * M lies in [0, 2 M) and one subtraction finishes it.
 * All products stay below 2^52: exact in 64 bits, no division per slot.
 */
static __u32 maglev_tail_pick(struct maglev_state *s, const __u32 *freelist, __u32 nfree,
			      __u32 size)
{
	__u32 best = 0, best_steps = size, i;

	if (!s->inv) {
		s->inv = maglev_inverse(s->skip, size);
		s->inv_q = (__u32)(((__u64)s->inv << 32) / size);
	}
	for (i = 0; i < nfree; i++) {
		__u32 d =
			freelist[i] >= s->pos ? freelist[i] - s->pos : freelist[i] + size - s->pos;
		__u64 q = ((__u64)d * s->inv_q) >> 32;
		__u32 steps = (__u32)((__u64)d * s->inv - q * size);

		if (steps >= size)
			steps -= size;
		if (steps < best_steps) {
			best_steps = steps;
			best = i;
		}
	}
	return best;
}

/*
 * Number of free slots at which the population switches to the free list:
 * about sqrt(M / 2), where a turn's scan of the list starts to cost more
 * than its probes would.
 */
static __u32 maglev_tail_len(__u32 size)
{
	__u32 t = 1;

	while (t * t < size / 2)
		t++;
	return t;
}

/*
 * Validate @nodes and write the backends with a non-zero weight, in key
 * order, to @st. Returns the number written or a negative errno.
 */
static long maglev_prepare(const struct xlb_maglev_node *nodes, size_t n, __u32 size, __u32 seed,
			   struct maglev_ref *refs, struct maglev_state *st, __u32 *max_w)
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
		__u64 h1, h2;

		if (i && !maglev_ref_cmp(&refs[i - 1], &refs[i]))
			return -EINVAL;
		if (!nd->weight)
			continue;
		h1 = maglev_hash(nd->key, len, MAGLEV_TAG_OFFSET << 32 | seed);
		h2 = maglev_hash(nd->key, len, MAGLEV_TAG_SKIP << 32 | seed);
		st[active] = (struct maglev_state){
			.weight = nd->weight,
			.pos = (__u32)(h1 % size), /* offset */
			.skip = (__u32)(h2 % (size - 1)) + 1,
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

/* Collect the slots still free in @taken into @freelist; returns how many. */
static __u32 maglev_collect_free(const __u64 *taken, __u32 size, __u32 *freelist)
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

static inline void maglev_place(struct maglev_state *s, __u32 c, __u32 size, __u64 *taken,
				__u32 *table)
{
	taken[c >> 6] |= 1ULL << (c & 63);
	table[c] = s->id;
	s->pos = maglev_next(c, s->skip, size);
}

/*
 * A run of turns: the players @players[@p ...] take one slot each until
 * the round ends or only @stop slots are left. Each phase has its own
 * loop, so that the hot ones stay small. Returns the next player index.
 */
static __u32 maglev_run_probe(struct maglev_state *st, const __u32 *players, __u32 p, __u32 nplay,
			      __u32 *left, __u32 stop, __u32 size, __u64 *taken, __u32 *table)
{
	for (; p<nplay && * left> stop; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 c = s->pos;

		while (maglev_taken(taken, c))
			c = maglev_next(c, s->skip, size);
		maglev_place(s, c, size, taken, table);
	}
	return p;
}

#ifdef MAGLEV_AVX2
/* @v mod @m for lanes below 2 * @m. */
__attribute__((target("avx2"))) static inline __m256i maglev_mod_avx2(__m256i v, __m256i m)
{
	return _mm256_min_epu32(v, _mm256_sub_epi32(v, m));
}

/* Bit i of the result: slot @pos[i] is free. */
__attribute__((target("avx2"))) static inline __u32 maglev_free_avx2(const __u64 *taken,
								     __m256i pos)
{
	/* Little-endian: bit c of the __u64 array is bit c % 32 of int c / 32. */
	__m256i w = _mm256_i32gather_epi32((const int *)taken, _mm256_srli_epi32(pos, 5), 4);

	w = _mm256_srlv_epi32(w, _mm256_and_si256(pos, _mm256_set1_epi32(31)));
	w = _mm256_slli_epi32(w, 31);
	return ~(__u32)_mm256_movemask_ps(_mm256_castsi256_ps(w)) & 0xff;
}

/*
 * maglev_run_probe() testing 8 preferences of a player at a time (16 once
 * the table is three quarters full): lanes c + k * skip, k = 0 .. 15, and
 * the lowest free lane is the first free slot in permutation order.
 */
__attribute__((target("avx2"))) static __u32 maglev_run_avx2(struct maglev_state *st,
							     const __u32 *players, __u32 p,
							     __u32 nplay, __u32 *left, __u32 stop,
							     __u32 size, __u64 *taken, __u32 *table)
{
	const __m256i m = _mm256_set1_epi32((int)size);
	const __m256i k8 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__u32 out[16];

	for (; p<nplay && * left> stop; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 c = s->pos, lanes = *left < size / 4 ? 16 : 8;
		__u32 s2 = maglev_next(s->skip, s->skip, size);
		__u32 s4 = maglev_next(s2, s2, size);
		__u32 s8 = maglev_next(s4, s4, size);
		__u32 step = lanes == 16 ? maglev_next(s8, s8, size) : s8;
		__m256i lo, hi, pos, pos2 = _mm256_setzero_si256();
		__u32 avail;

		/* lo = k * skip mod M (k < 8, so below 8 M), hi = lo + 8 skip. */
		lo = _mm256_mullo_epi32(_mm256_set1_epi32((int)s->skip), k8);
		lo = maglev_mod_avx2(lo, _mm256_slli_epi32(m, 2));
		lo = maglev_mod_avx2(lo, _mm256_slli_epi32(m, 1));
		lo = maglev_mod_avx2(lo, m);
		hi = _mm256_add_epi32(lo, _mm256_set1_epi32((int)s8));
		hi = maglev_mod_avx2(hi, m);
		for (;;) {
			__m256i vc = _mm256_set1_epi32((int)c);

			pos = maglev_mod_avx2(_mm256_add_epi32(vc, lo), m);
			avail = maglev_free_avx2(taken, pos);
			if (lanes == 16) {
				pos2 = maglev_mod_avx2(_mm256_add_epi32(vc, hi), m);
				avail |= maglev_free_avx2(taken, pos2) << 8;
			}
			if (avail)
				break;
			c = maglev_next(c, step, size);
		}
		_mm256_storeu_si256((__m256i *)out, pos);
		_mm256_storeu_si256((__m256i *)(out + 8), pos2);
		maglev_place(s, out[__builtin_ctz(avail)], size, taken, table);
	}
	return p;
}

static int maglev_have_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#else
static __u32 maglev_run_avx2(struct maglev_state *st, const __u32 *players, __u32 p, __u32 nplay,
			     __u32 *left, __u32 stop, __u32 size, __u64 *taken, __u32 *table)
{
	return maglev_run_probe(st, players, p, nplay, left, stop, size, taken, table);
}

static int maglev_have_avx2(void)
{
	return 0;
}
#endif

static __u32 maglev_run_tail(struct maglev_state *st, const __u32 *players, __u32 p, __u32 nplay,
			     __u32 *left, __u32 size, __u32 *freelist, __u32 *table)
{
	for (; p < nplay && *left; p++, --*left) {
		struct maglev_state *s = &st[players[p]];
		__u32 k = maglev_tail_pick(s, freelist, *left, size);
		__u32 c = freelist[k];

		freelist[k] = freelist[*left - 1];
		table[c] = s->id;
		s->pos = maglev_next(c, s->skip, size);
	}
	return p;
}

/*
 * Turn schedule, sparse form: when most backends skip most rounds (one
 * heavy backend among many light ones), walking all N backends every
 * round costs O(N * M) and a heap of next turns is cheaper. Backend i next
 * plays in round floor((placed_i * W + W / 2) / w_i) + 1 (the first round
 * where the deficit test holds); its quotient q and remainder advance by
 * W / w_i and W % w_i per turn, without a division. The heap is ordered
 * by (round, index), which is the order of the dense form's turns.
 */
struct maglev_sched {
	__u64 q;    /* floor((placed * W + W / 2) / w) */
	__u32 rem;  /* (placed * W + W / 2) % w */
	__u32 wdiv; /* W / w */
	__u32 wmod; /* W % w */
	__u32 pad;
};

/* Heap key: round of the next turn, then backend index. */
static inline __u64 maglev_sched_key(const struct maglev_sched *sc, __u32 i)
{
	__u64 round = sc->q + 1;

	/* Rounds past M never come: the heaviest backend plays every round. */
	return (round < 0x80000000ULL ? round : 0x80000000ULL) << 32 | i;
}

static void maglev_sift_down(__u64 *heap, __u32 n, __u32 i)
{
	__u64 v = heap[i];
	__u32 c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && heap[c + 1] < heap[c])
			c++;
		if (v <= heap[c])
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = v;
}

static void maglev_sched_init(const struct maglev_state *st, __u32 active, __u32 max_w,
			      struct maglev_sched *sc, __u64 *heap)
{
	__u32 i;

	for (i = 0; i < active; i++) {
		__u32 w = st[i].weight;

		sc[i] = (struct maglev_sched){
			.q = (max_w / 2) / w,
			.rem = (max_w / 2) % w,
			.wdiv = max_w / w,
			.wmod = max_w % w,
		};
		heap[i] = maglev_sched_key(&sc[i], i);
	}
	for (i = active / 2; i-- > 0;)
		maglev_sift_down(heap, active, i);
}

/* The players of the next round, in index order, from the heap. */
static __u32 maglev_sched_round(const struct maglev_state *st, __u32 active,
				struct maglev_sched *sc, __u64 *heap, __u32 *players)
{
	__u64 round = heap[0] >> 32;
	__u32 nplay = 0;

	while (heap[0] >> 32 == round) {
		__u32 i = (__u32)heap[0];
		struct maglev_sched *x = &sc[i];
		__u64 rem = (__u64)x->rem + x->wmod;

		players[nplay++] = i;
		x->q += x->wdiv;
		if (rem >= st[i].weight) {
			rem -= st[i].weight;
			x->q++;
		}
		x->rem = (__u32)rem;
		heap[0] = maglev_sched_key(x, i);
		maglev_sift_down(heap, active, 0);
	}
	return nplay;
}

/* The players of the next round, dense form: one pass over all backends. */
static __u32 maglev_dense_round(struct maglev_state *st, __u32 active, __u32 max_w, __u32 *players)
{
	__u32 i, nplay = 0;

	for (i = 0; i < active; i++) {
		__s64 d = st[i].deficit + st[i].weight;
		__s64 play = d > 0;

		st[i].deficit = d - (play ? (__s64)max_w : 0);
		players[nplay] = i;
		nplay += (__u32)play;
	}
	return nplay;
}

/*
 * The population loop: rounds until all @size slots are taken. Each round
 * first lists the backends whose turn it is (the dense form branch-free,
 * so the skipped turns of light backends cost no mispredicted branches),
 * then lets each take a slot: by probing (with AVX2 once the table is half
 * full), and from the free list for the last maglev_tail_len() slots.
 * @sparse picks the heap schedule. @taken is a zeroed bitmap of @size
 * bits; @players, @sc and @heap have room for @active entries, @freelist
 * for maglev_tail_len(@size).
 */
static void maglev_populate(struct maglev_state *st, __u32 active, __u32 max_w, int sparse,
			    __u32 size, __u64 *taken, __u32 *players, struct maglev_sched *sc,
			    __u64 *heap, __u32 *freelist, __u32 *table)
{
	__u32 tail = maglev_tail_len(size), half = size / 2;
	__u32 left = size, nplay, i, p;
	int avx2 = maglev_have_avx2();

	if (half < tail || !avx2)
		half = tail;
	if (sparse)
		maglev_sched_init(st, active, max_w, sc, heap);
	for (i = 0; i < active; i++)
		st[i].deficit = -(__s64)(max_w / 2);
	while (left) {
		if (sparse)
			nplay = maglev_sched_round(st, active, sc, heap, players);
		else
			nplay = maglev_dense_round(st, active, max_w, players);
		p = maglev_run_probe(st, players, 0, nplay, &left, half, size, taken, table);
		p = maglev_run_avx2(st, players, p, nplay, &left, tail, size, taken, table);
		if (p == nplay)
			continue;
		if (left == tail)
			maglev_collect_free(taken, size, freelist);
		maglev_run_tail(st, players, p, nplay, &left, size, freelist, table);
	}
}

/*
 * Whether the heap schedule is cheaper: the dense form visits N backends
 * in each of about M * W / sum(w) rounds, the heap costs about log2(N)
 * steps per slot (a step costing some visits: SPARSE_STEP, measured).
 */
#define MAGLEV_SPARSE_STEP 4
static int maglev_sparse(const struct maglev_state *st, __u32 active, __u32 max_w)
{
	__u64 sum_w = 0;
	__u32 i, log2n = 0;

	for (i = 0; i < active; i++)
		sum_w += st[i].weight;
	while ((1U << log2n) < active)
		log2n++;
	/* Below 2^64: active <= 2^17, weights < 2^32. */
	return (__u64)active * max_w > sum_w * MAGLEV_SPARSE_STEP * (log2n + 1);
}

int xlb_maglev_build(const struct xlb_maglev_node *nodes, size_t n, __u32 size, __u32 seed,
		     __u32 *table)
{
	size_t refs_len, st_len, play_len, sc_len, heap_len, bits_len, free_len;
	__u32 max_w, i, *players, *freelist;
	struct maglev_sched *sc;
	struct maglev_state *st;
	struct maglev_ref *refs;
	__u64 *taken, *heap;
	char *mem;
	long active;

	if (!xlb_maglev_size_valid(size) || !table || (n && !nodes))
		return -EINVAL;
	if (n > XLB_MAX_BACKENDS)
		return -EINVAL;

	/* One allocation, 8-byte members first. */
	refs_len = 2 * n * sizeof(*refs);
	st_len = n * sizeof(*st);
	sc_len = n * sizeof(*sc);
	heap_len = n * sizeof(*heap);
	bits_len = (size + 63) / 64 * sizeof(*taken);
	play_len = n * sizeof(*players);
	free_len = maglev_tail_len(size) * sizeof(*freelist);
	mem = malloc(refs_len + st_len + sc_len + heap_len + bits_len + play_len + free_len);
	if (!mem)
		return -ENOMEM;
	refs = (struct maglev_ref *)mem;
	st = (struct maglev_state *)(refs + 2 * n);
	sc = (struct maglev_sched *)(st + n);
	heap = (__u64 *)(sc + n);
	taken = heap + n;
	players = (__u32 *)(mem + refs_len + st_len + sc_len + heap_len + bits_len);
	freelist = players + n;

	active = maglev_prepare(nodes, n, size, seed, refs, st, &max_w);
	if (active < 0)
		goto out_free;
	if (!active) {
		for (i = 0; i < size; i++)
			table[i] = XLB_NO_BACKEND;
		goto out_free;
	}
	memset(taken, 0, bits_len);
	maglev_populate(st, (__u32)active, max_w, maglev_sparse(st, (__u32)active, max_w), size,
			taken, players, sc, heap, freelist, table);
	active = 0;
out_free:
	free(mem);
	return (int)active;
}
