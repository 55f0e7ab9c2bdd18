// SPDX-License-Identifier: GPL-2.0-only
/*
 * VIPs for some clients only (struct xlb_vip_key with client_family set,
 * in xlb_filtered_vips): the address's entry in xlb_vips flagged
 * XLB_VIP_F_CLIENTS that sends the fast path to xlb_vip_clients, the LPM
 * entries there, and the bare entry an address gets when no VIP of its own
 * holds it. Called by the VIP accessors
 * (maps_vip.c) around their writes; nobody else sees the flag or the
 * bare entries.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "dataplane/maps_internal.h"

static const struct xlb_vip bare = {.id = XLB_VIP_NO_ID, .flags = XLB_VIP_F_CLIENTS};

int xlb_vip_key_check(const struct xlb_vip_key *k)
{
	unsigned int max = k->family == XLB_AF_INET ? 32 : 128, i, bits;
	__u32 host;

	if (k->pad[0] || k->pad[1])
		return -EINVAL;
	if (!k->client_family) {
		for (i = 0; i < 4; i++)
			if (k->client[i])
				return -EINVAL;
		return k->client_plen ? -EINVAL : 0;
	}
	if (k->client_family != k->family || k->client_plen > max)
		return -EINVAL;
	/* The prefix's host bits are zero: one key per prefix. */
	for (i = 0; i < 4; i++) {
		bits = k->client_plen > 32 * i ? k->client_plen - 32 * i : 0;
		host = bits >= 32 ? 0 : ~0U >> bits;
		if (ntohl(k->client[i]) & host)
			return -EINVAL;
	}
	return 0;
}

int xlb_vip_map_fd(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	return map_fd(k->client_family ? m->skel->maps.xlb_filtered_vips : m->skel->maps.xlb_vips);
}

int xlb_vip_is_bare(const struct xlb_vip *v)
{
	return v->id == XLB_VIP_NO_ID && (v->flags & XLB_VIP_F_CLIENTS);
}

/* The address's key (client part zero) of a VIP key. */
static void base_key(const struct xlb_vip_key *k, struct xlb_vip_key *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->addr, k->addr, sizeof(b->addr));
	b->port = k->port;
	b->proto = k->proto;
	b->family = k->family;
}

static void client_key(const struct xlb_vip_key *k, struct xlb_client_key *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->prefixlen = XLB_CLIENT_KEY_VIP_BITS + k->client_plen;
	memcpy(ck->addr, k->addr, sizeof(ck->addr));
	ck->port = k->port;
	ck->proto = k->proto;
	ck->family = k->family;
	memcpy(ck->client, k->client, sizeof(ck->client));
}

/* Whether an LPM entry other than skip's is for the address of b. */
static int clients_left(struct xlb_maps *m, const struct xlb_vip_key *b,
			const struct xlb_client_key *skip)
{
	int fd = map_fd(m->skel->maps.xlb_vip_clients);
	struct xlb_client_key cur, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (!memcmp(&cur, skip, sizeof(cur)))
			continue;
		if (!memcmp(cur.addr, b->addr, sizeof(b->addr)) && cur.port == b->port &&
		    cur.proto == b->proto && cur.family == b->family)
			return 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* The address's entry without the flag, or gone when bare. */
static int base_unflag(struct xlb_maps *m, const struct xlb_vip_key *b)
{
	int fd = map_fd(m->skel->maps.xlb_vips);
	struct xlb_vip v;

	if (bpf_map_lookup_elem(fd, b, &v))
		return errno == ENOENT ? 0 : -errno;
	if (xlb_vip_is_bare(&v))
		return ret_errno(bpf_map_delete_elem(fd, b));
	v.flags &= ~XLB_VIP_F_CLIENTS;
	return ret_errno(bpf_map_update_elem(fd, b, &v, BPF_EXIST));
}

static int xlb_clients_attach(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	int fd = map_fd(m->skel->maps.xlb_vips), err;
	struct xlb_client_key ck;
	struct xlb_vip_key b;
	struct xlb_vip v;
	int made = 0;

	base_key(k, &b);
	if (!bpf_map_lookup_elem(fd, &b, &v)) {
		if (!(v.flags & XLB_VIP_F_CLIENTS)) {
			v.flags |= XLB_VIP_F_CLIENTS;
			err = ret_errno(bpf_map_update_elem(fd, &b, &v, BPF_EXIST));
			if (err)
				return err;
			made = 1;
		}
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		err = ret_errno(bpf_map_update_elem(fd, &b, &bare, BPF_NOEXIST));
		if (err)
			return err;
		made = 1;
	}
	client_key(k, &ck);
	err = ret_errno(
		bpf_map_update_elem(map_fd(m->skel->maps.xlb_vip_clients), &ck, k, BPF_NOEXIST));
	if (err && made && clients_left(m, &b, &ck) == 0)
		base_unflag(m, &b);
	return err;
}

static int xlb_clients_detach(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	struct xlb_client_key ck;
	struct xlb_vip_key b;
	int err;

	client_key(k, &ck);
	err = ret_errno(bpf_map_delete_elem(map_fd(m->skel->maps.xlb_vip_clients), &ck));
	if (err && err != -ENOENT)
		return err;
	base_key(k, &b);
	err = clients_left(m, &b, &ck);
	if (err)
		return err < 0 ? err : 0;
	return base_unflag(m, &b);
}

int xlb_vip_put(struct xlb_maps *m, const struct xlb_vip_key *k, const struct xlb_vip *v)
{
	int fd = map_fd(m->skel->maps.xlb_vips), err;
	struct xlb_vip cur, nv = *v;

	/* The filter first: no packet of the VIP may find its bit clear. */
	err = xlb_addrs_add(m, k->addr);
	if (err)
		return err;
	nv.flags &= ~XLB_VIP_F_CLIENTS;
	if (k->client_family) {
		fd = xlb_vip_map_fd(m, k);
		err = ret_errno(bpf_map_update_elem(fd, k, &nv, BPF_NOEXIST));
		if (!err) {
			err = xlb_clients_attach(m, k);
			if (err)
				bpf_map_delete_elem(fd, k);
		}
		return err;
	}
	/* An address the filtered VIPs hold alone: this VIP takes its entry. */
	if (!bpf_map_lookup_elem(fd, k, &cur) && xlb_vip_is_bare(&cur)) {
		nv.flags |= XLB_VIP_F_CLIENTS;
		return ret_errno(bpf_map_update_elem(fd, k, &nv, BPF_EXIST));
	}
	return ret_errno(bpf_map_update_elem(fd, k, &nv, BPF_NOEXIST));
}

int xlb_vip_unput(struct xlb_maps *m, const struct xlb_vip_key *k)
{
	int fd = map_fd(m->skel->maps.xlb_vips), err;
	struct xlb_vip cur;

	if (k->client_family) {
		/* Stop matching first: the LPM entry, then the VIP. */
		err = xlb_clients_detach(m, k);
		return err ?: ret_errno(bpf_map_delete_elem(xlb_vip_map_fd(m, k), k));
	}
	if (bpf_map_lookup_elem(fd, k, &cur))
		return -errno;
	if (cur.flags & XLB_VIP_F_CLIENTS)
		return ret_errno(bpf_map_update_elem(fd, k, &bare, BPF_EXIST));
	return ret_errno(bpf_map_delete_elem(fd, k));
}
