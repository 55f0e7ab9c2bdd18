// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent seen from outside, read-only: what the Admin API's status
 * endpoints and /metrics show, gathered from the nodes, their targets, the
 * maps, the registry watches and etcd. admin.c only serialises it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"
#include "discovery/discovery.h"
#include "health/checker.h"

json_t *xlb_agent_upstream_view(struct xlb_agent *a, const char *id)
{
	const struct xlb_upstream_conf *u = xlb_conf_upstream(&a->conf, id);
	struct agent_watch *aw;
	struct xlb_disc_status st = {};
	struct agent_node *n;
	char host[XLB_ADDRSTRLEN];
	json_t *v, *nodes, *disc = NULL;
	size_t i;

	if (!u)
		return NULL;
	aw = u->discovery_type[0] ? agent_watch_find(a->watches, a->nwatches, u->id) : NULL;
	if (aw) {
		xlb_disc_watch_status(aw->w, &st);
		disc = json_pack("{s:s, s:s, s:b, s:f, s:f, s:I, s:I, s:I, s:s?}", "type",
				 u->discovery_type, "service_name", u->service_name, "answered",
				 st.have_answer, "confirmed", st.confirmed, "changed", st.changed,
				 "answers", (json_int_t)st.answers, "errors", (json_int_t)st.errors, "changes",
				 (json_int_t)st.changes, "error", st.error[0] ? st.error : NULL);
	}
	nodes = json_array();
	for (i = 0; nodes && i < u->nnodes; i++) {
		n = agent_node_find(a->nodes, a->nnodes, &u->nodes[i].addr, u->nodes[i].port);
		xlb_addr_str(u->nodes[i].addr.addr, u->nodes[i].addr.family, host, sizeof(host));
		json_array_append_new(nodes, json_pack(
			"{s:s, s:i, s:I, s:i, s:s, s:f, s:s}", "host", host, "port",
			u->nodes[i].port, "weight", (json_int_t)u->nodes[i].weight, "priority",
			u->nodes[i].priority, "source", aw ? u->discovery_type : "config",
			/* a static node is confirmed by the configuration that lists it */
			"confirmed", aw ? st.confirmed : a->loaded, "health",
			n ? xlb_health_name(xlb_target_state(n->t)) : "unknown"));
	}
	v = json_pack("{s:s, s:o, s:o}", "id", u->id, "discovery", disc ? disc : json_null(),
		      "nodes", nodes);
	return v;
}
