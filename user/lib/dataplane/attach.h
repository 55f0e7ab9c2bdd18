/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading and attaching xlb's XDP programs with libxdp, and finding them
 * again on devices. The load balancer's maps are pinned in the pin
 * directory, so several devices and later processes share them.
 */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <xdp/libxdp.h>
#include <xlb/abi.h>

enum xlb_prog_kind {
	XLB_PROG_LB = 0, /* xlb_lb: the load balancer */
	XLB_PROG_DECAP,	 /* xlb_decap: backend-side decapsulation */
};

struct xlb_attach_opts {
	enum xdp_attach_mode mode; /* XDP_MODE_NATIVE or XDP_MODE_SKB */
	__u32 flow_max;		   /* flow-cache flows a family; 0 = default or pinned */
	__u32 flow6_max;	   /* IPv6 flow-cache flows; 0 = flow_max */
	__u32 syn_max;	   /* SYN-table slots (power of two, 1 = none); 0 = default or pinned */
	__u32 nat_max;	   /* NAT connections; 0 = default or pinned */
	__u32 table_slots; /* Maglev table space; 0 = default or pinned */
	__u32 backends;	   /* backend ids; 0 = XLB_MAX_BACKENDS or pinned */
	int nat_off;	   /* no NAT source: NAT maps at their least */
	const struct xlb_config *config; /* written after attach (LB only) */
	__u16 gue_port;			 /* decap: GUE port written after attach; 0 = as pinned */
};

struct xlb_attach_info {
	int attached; /* our program is on the device */
	__u32 prog_id;
	enum xdp_attach_mode mode;
	int legacy; /* no libxdp dispatcher (plain attach) */
};

/*
 * libxdp keeps its own pins (those of its multi-program dispatcher) in
 * $LIBXDP_BPFFS, default /sys/fs/bpf, and reads that setting once. Where
 * that is no bpffs (inside `ip netns exec`, which remounts /sys), point it
 * at our pin directory, which is one. Call it before any other libxdp call
 * of the process: attach, query and detach must all see the same pins.
 */
void xlb_libxdp_bpffs(const char *pin_dir);

/*
 * Load kind's program with maps pinned in pin_dir and attach it to ifindex.
 * -EEXIST when it is attached there already. *legacy tells whether libxdp
 * fell back to a plain attach (no multi-program dispatcher).
 */
int xlb_prog_attach(enum xlb_prog_kind kind, const char *pin_dir, int ifindex,
		    const struct xlb_attach_opts *o, int *legacy);
/* Detach kind's program from ifindex; -ENOENT when it is not there. */
int xlb_prog_detach(enum xlb_prog_kind kind, int ifindex);
/* Is kind's program attached to ifindex, and how. */
int xlb_prog_query(enum xlb_prog_kind kind, int ifindex, struct xlb_attach_info *info);
/* Remove kind's pinned maps from pin_dir (after the last detach). */
int xlb_prog_unpin(enum xlb_prog_kind kind, const char *pin_dir);
/*
 * Pins of a build whose table space was xlb_slots (32-bit slots, two to a
 * value) become xlb_chains, pinned at path (xlb_slots is its neighbour in
 * the pin directory): the same slots at the same offsets, each id now the
 * primary of a chain without secondaries, so the VIP entries and the block
 * record stay valid as they are. Attach calls it first. 0 also when there
 * is nothing to convert.
 */
int xlb_chains_from_slots(const char *path);
const char *xlb_prog_name(enum xlb_prog_kind kind);

/*
 * xlb_decap's GUE port, in its map pinned in pin_dir (xlb_decap_gue_port):
 * every device's xlb_decap reads it for each UDP packet, so a change holds
 * at once. get reports XLB_GUE_PORT_DEFAULT while none is set.
 */
int xlb_decap_gue_port_get(const char *pin_dir, __u16 *port);
int xlb_decap_gue_port_set(const char *pin_dir, __u16 port);

/* Everything `xlb attach` and the agent set up on a load-balancer device. */
struct xlb_lb_setup {
	const char *ifname;
	enum xdp_attach_mode mode; /* XDP_MODE_NATIVE or XDP_MODE_SKB */
	__u32 forward;		   /* XLB_FWD_* */
	int forward_set;	   /* else a second device keeps the maps' method */
	const char *encap_src;	   /* CIDR varied per flow; NULL: device address */
	const char *encap_src6;
	const char *nat_src; /* NAT: LB's IPv4 address to nodes; NULL: none */
	const char *nat_src6;
	__u16 nat_port_min, nat_port_max; /* 0: XLB_NAT_PORT_MIN/MAX */
	int seed_set;			  /* else: the pinned maps' seed, or a random one */
	__u32 seed;
	__u32 flows;	   /* 0: default (or the pinned table's size) */
	__u32 flows6;	   /* IPv6 flows; 0: as flows */
	__u32 nat_conns;   /* NAT table size; 0: default (or pinned) */
	__u32 table_slots; /* slots of all Maglev tables; 0: default (or pinned) */
	__u32 backends;	   /* backend ids the maps hold; 0: XLB_MAX_BACKENDS (or pinned) */
	__u16 gue_port;	   /* GUE's UDP port; 0: the pinned maps' (XLB_GUE_PORT_DEFAULT) */
	__u32 syns;	   /* SYN-table slots (power of two; 1: none); 0: default (or pinned) */
};

/* What the setup did that the operator should hear about. */
struct xlb_lb_notes {
	int forwarding_enabled; /* we turned forwarding on for the device */
	int legacy;		/* libxdp fell back to a plain attach */
	int veth;		/* native XDP on a veth: the peer needs XDP */
	char nat_ports[320];	/* NAT ports overlap the ephemeral ones: why; "" */
};

/*
 * Whether NAT source ports min..max (0: the defaults) overlap the kernel's
 * ephemeral ports (net.ipv4.ip_local_port_range): then this host's own
 * connection to a node may hold a port NAT hands out too. 1 with the
 * reason in why, else 0.
 */
int xlb_nat_ports_overlap(__u16 min, __u16 max, char *why, size_t len);

/**
 * xlb_nat_src_parse() - set @cfg's NAT address of @family (4 or 6) from @s
 * Return: 0, or -EINVAL with a reason in @err.
 */
int xlb_nat_src_parse(const char *s, int family, struct xlb_config *cfg, char *err, size_t errlen);

/**
 * xlb_lb_attach_dev() - attach the load balancer to a device, pin its maps
 * in @pin_dir (mounting a bpffs there if needed) and write its settings
 * @err: a one-line reason on failure (bad CIDR, missing device, ...)
 *
 * Return: 0; -EEXIST when it is attached there already; -EINVAL with @err
 * for bad settings; -EOPNOTSUPP with @err when this kernel cannot run it; other negative errnos from the kernel or libxdp.
 */
int xlb_lb_attach_dev(const char *pin_dir, const struct xlb_lb_setup *s, struct xlb_lb_notes *notes,
		      char *err, size_t errlen);
/* Parse an --encap-src CIDR of @family (4 or 6) into @cfg. */
int xlb_encap_src_parse(const char *s, int family, struct xlb_config *cfg, char *err,
			size_t errlen);

#endif /* XLB_ATTACH_H */
