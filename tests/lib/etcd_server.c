// SPDX-License-Identifier: GPL-2.0-only
/*
 * A real etcd for the tests (see etcd_server.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>
#include <jansson.h>

#include "etcd_server.h"
#include "testproc.h"

const char *etcd_server_binary(void)
{
	static const char *const paths[] = {"/usr/bin/etcd", "/usr/local/bin/etcd", NULL};

	return testproc_find(paths);
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *p = realloc(b->p, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	p[b->len] = 0;
	return size * n;
}

char *etcd_server_post(struct etcd_server *s, const char *path, const char *body, long *status)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct buf b = {0};
	char url[128];
	CURL *c;
	CURLcode rc;

	*status = 0;
	c = curl_easy_init();
	if (!c) {
		curl_slist_free_all(h);
		return NULL;
	}
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

static int healthy(struct etcd_server *s)
{
	long status;
	char *r = etcd_server_post(s, "/health", NULL, &status);
	int ok = r && status == 200 && strstr(r, "\"true\"");

	free(r);
	return ok;
}

int etcd_server_start(struct etcd_server *s)
{
	char name[64], client[64], peer[64], cluster[96], data[300], log[300];
	const char *bin = etcd_server_binary();
	struct timespec ts = {0, 50 * 1000 * 1000};
	pid_t parent = getpid(), pid;
	int i, fd, status;

	if (!bin)
		return -ENOENT;
	if (!s->dir[0]) {
		snprintf(s->dir, sizeof(s->dir), "/tmp/xlbt-etcd.XXXXXX");
		if (!mkdtemp(s->dir)) {
			s->dir[0] = 0;
			return -errno;
		}
		s->client_port = testproc_free_port(0);
		s->peer_port = testproc_free_port(0);
		if (s->client_port < 0 || s->peer_port < 0 || s->client_port == s->peer_port)
			return -EADDRINUSE;
		snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->client_port);
	}
	snprintf(name, sizeof(name), "--name=xlbt%d", s->client_port);
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", s->client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", s->peer_port);
	snprintf(cluster, sizeof(cluster), "xlbt%d=%s", s->client_port, peer);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(log, sizeof(log), "%s/etcd.log", s->dir);

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, name, "--data-dir", data, "--listen-client-urls", client,
		      "--advertise-client-urls", client, "--listen-peer-urls", peer,
		      "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
		      "--initial-cluster-state", "new", (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	for (i = 0; i < 400; i++) { /* 20 s */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->pid = 0;
			fprintf(stderr, "etcd exited at start; see %s\n", log);
			return -ECHILD;
		}
		if (healthy(s))
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "etcd did not become healthy in 20 s; see %s\n", log);
	etcd_server_stop(s);
	return -ETIMEDOUT;
}

void etcd_server_stop(struct etcd_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void etcd_server_cleanup(struct etcd_server *s)
{
	etcd_server_stop(s);
	testproc_rm_tree(s->dir, "/tmp/xlbt-etcd.");
	s->dir[0] = 0;
}

int etcd_server_wipe(struct etcd_server *s)
{
	char data[300];

	etcd_server_stop(s);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	testproc_rm_tree(data, "/tmp/xlbt-etcd.");
	return etcd_server_start(s);
}

static char *b64(const char *in, size_t len)
{
	static const char c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i += 3) {
		unsigned int n = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
				 (i + 2 < len ? p[i + 2] : 0);

		*o++ = c[n >> 18 & 63];
		*o++ = c[n >> 12 & 63];
		*o++ = i + 1 < len ? c[n >> 6 & 63] : '=';
		*o++ = i + 2 < len ? c[n & 63] : '=';
	}
	*o = 0;
	return out;
}

/* The header revision of an answer, or -EIO. */
static long long answer_rev(char *r, long status)
{
	json_t *root = r ? json_loads(r, 0, NULL) : NULL;
	json_t *rev = json_object_get(json_object_get(root, "header"), "revision");
	long long v = -EIO;

	if (status == 200 && json_is_string(rev))
		v = atoll(json_string_value(rev));
	json_decref(root);
	free(r);
	return v;
}

long long etcd_server_put(struct etcd_server *s, const char *key, const char *value, long vlen)
{
	char *k = b64(key, strlen(key)), *v = b64(value, vlen < 0 ? strlen(value) : (size_t)vlen);
	char *body = NULL, *r = NULL;
	long status = 0;

	if (k && v && asprintf(&body, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v) >= 0)
		r = etcd_server_post(s, "/v3/kv/put", body, &status);
	free(k);
	free(v);
	free(body);
	return answer_rev(r, status);
}

long long etcd_server_delete(struct etcd_server *s, const char *key)
{
	char *k = b64(key, strlen(key)), *body = NULL, *r = NULL;
	long status = 0;

	if (k && asprintf(&body, "{\"key\":\"%s\"}", k) >= 0)
		r = etcd_server_post(s, "/v3/kv/deleterange", body, &status);
	free(k);
	free(body);
	return answer_rev(r, status);
}

int etcd_server_compact(struct etcd_server *s, long long rev)
{
	char body[64], *r;
	long status = 0;
	int ok;

	snprintf(body, sizeof(body), "{\"revision\":\"%lld\",\"physical\":true}", rev);
	r = etcd_server_post(s, "/v3/kv/compaction", body, &status);
	ok = r && status == 200;
	free(r);
	return ok ? 0 : -EIO;
}
