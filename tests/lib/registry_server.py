#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A scripted HTTP server on 127.0.0.1 that plays a service registry
(Consul, Eureka, Nacos, the Kubernetes API) for the discovery unit tests.

It prints its port on the first stdout line and serves until killed;
with --tls CERT KEY it speaks HTTPS.
Tests script it over HTTP on the same port:

  POST /_ctl/script   {"routes": {PATH: [RESPONSE, ...], ...}, "reset": true}
                      queues responses per request path (query ignored);
                      the last response of a queue repeats once the others
                      are used. A PATH may end in ?k=v&..: it then takes
                      the requests to PATH whose query has all those
                      parameters (the most specific such route wins). "reset" (default true) clears routes and log.
  POST /_ctl/push     {"path": PATH, "responses": [...]}  appends to a queue;
                      a request waiting on an empty queue ("wait" responses)
                      takes them.
  GET  /_ctl/log      [{"method", "path", "query", "headers", "body"}, ...]
  POST /_ctl/close    closes every held stream and waiting request (a
                      registry restart); a reset script does the same.

A RESPONSE is a JSON object:
  status      HTTP status (200)
  headers     {name: value}
  body        text, or any JSON value (sent as JSON)
  delay       seconds before answering (a blocking query that times out)
  truncate    send only this many bytes of the body (Content-Length says
              the whole) and close: a truncated answer
  chunks      [{"data": text-or-JSON, "delay": s}, ...] sent with chunked
              transfer encoding (JSON values sent as one line each)
  hold        after the chunks, keep the stream open this many seconds
              (or until /_ctl/close) without ending it
  end         false: close the connection after the chunks without the
              final empty chunk (a dropped watch)
  wait        true: block until /_ctl/push gives this path a response
              (held at most 30 s, then 500)
  drop        true: close the connection without any answer
Unknown paths get 404 {"error": "no route"}.
"""
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

lock = threading.Condition()
routes = {}
log = []
closing = [0]


def text(v):
    if isinstance(v, str):
        return v.encode()
    return json.dumps(v).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def reply(self, status, body, ctype='application/json', extra=None):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(body)

    def control(self, path, body):
        if path == '/_ctl/script':
            req = json.loads(body or b'{}')
            with lock:
                if req.get('reset', True):
                    routes.clear()
                    log.clear()
                    closing[0] += 1	# requests of the previous script end
                for p, rs in req.get('routes', {}).items():
                    routes[p] = list(rs)
                lock.notify_all()
            return self.reply(200, b'{}')
        if path == '/_ctl/push':
            req = json.loads(body)
            with lock:
                routes.setdefault(req['path'], []).extend(req['responses'])
                lock.notify_all()
            return self.reply(200, b'{}')
        if path == '/_ctl/log':
            with lock:
                data = json.dumps(log).encode()
            return self.reply(200, data)
        if path == '/_ctl/close':
            with lock:
                closing[0] += 1
                lock.notify_all()
            return self.reply(200, b'{}')
        return self.reply(404, b'{}')

    def route_key(self, path, query):
        """The route for a request: "PATH?k=v&..." keys match when every k=v
        is in the query (the longest such key wins), else PATH."""
        have = set(query.split('&')) if query else set()
        best = None
        for key in routes:
            kp, _, kq = key.partition('?')
            if kp == path and kq and set(kq.split('&')) <= have:
                if best is None or len(key) > len(best):
                    best = key
        return best if best is not None else path

    def next_response(self, path, query=''):
        deadline = time.time() + 30
        gen = closing[0]
        with lock:
            path = self.route_key(path, query)
            while True:
                if closing[0] != gen:
                    return {'drop': True}
                q = routes.get(path)
                if q is None:
                    return None
                if q and not q[0].get('wait'):
                    r = q.pop(0) if len(q) > 1 else q[0]
                    return r
                if q and q[0].get('wait') and len(q) > 1:
                    q.pop(0)	# the push arrived: use what follows
                    continue
                left = deadline - time.time()
                if left <= 0:
                    return {'status': 500, 'body': {'error': 'no pushed response'}}
                if self.client_gone():
                    # Its client gave up: do not take a response meant for the next one.
                    return {'drop': True}
                lock.wait(min(left, 0.05))

    def client_gone(self):
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b''
        except OSError:
            return True

    def sleep(self, secs):
        """Sleep, cut short by /_ctl/close; True when closed."""
        gen = closing[0]
        end = time.time() + secs
        with lock:
            while closing[0] == gen:
                left = end - time.time()
                if left <= 0:
                    return False
                lock.wait(left)
        return True

    def handle_any(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith('/_ctl/'):
            return self.control(url.path, body)
        with lock:
            log.append({'method': self.command, 'path': url.path, 'query': url.query,
                        'headers': {k.lower(): v for k, v in self.headers.items()},
                        'body': body.decode(errors='replace')})
        r = self.next_response(url.path, url.query)
        if r is None:
            return self.reply(404, b'{"error": "no route"}')
        if r.get('delay') and self.sleep(r['delay']):
            self.close_connection = True
            return
        if r.get('drop'):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = r.get('status', 200)
        headers = r.get('headers', {})
        if 'chunks' in r:
            self.send_response(status)
            self.send_header('Content-Type', headers.get('Content-Type', 'application/json'))
            self.send_header('Transfer-Encoding', 'chunked')
            for k, v in headers.items():
                if k != 'Content-Type':
                    self.send_header(k, str(v))
            self.end_headers()
            self.wfile.flush()
            for c in r['chunks']:
                if c.get('delay') and self.sleep(c['delay']):
                    self.close_connection = True
                    return
                data = text(c['data'])
                if not isinstance(c['data'], str):
                    data += b'\n'
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
                self.wfile.flush()
            if r.get('hold'):
                self.sleep(r['hold'])
                self.close_connection = True
                return
            if r.get('end', True):
                self.wfile.write(b'0\r\n\r\n')
            else:
                self.close_connection = True
            return
        data = text(r.get('body', ''))
        ctype = headers.get('Content-Type', 'application/json')
        extra = {k: v for k, v in headers.items() if k != 'Content-Type'}
        if 'truncate' in r:
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(data)))
            for k, v in extra.items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data[:r['truncate']])
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(status, data, ctype, extra)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients under test hang up mid-answer on purpose (cancels, timeouts,
        # certificates they refuse).
        e = sys.exc_info()[1]
        if not isinstance(e, (BrokenPipeError, ConnectionResetError)) and \
                type(e).__name__ not in ('SSLError', 'SSLEOFError'):
            super().handle_error(request, client_address)


class TLSServer(Server):
    ctx = None

    def get_request(self):
        # The handshake happens in the handler's thread on its first read,
        # so a client that rejects the certificate stalls nobody.
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr


def main():
    """registry_server.py [--tls CERT KEY]"""
    if len(sys.argv) > 3 and sys.argv[1] == '--tls':
        import ssl
        srv = TLSServer(('127.0.0.1', 0), Handler)
        srv.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    else:
        srv = Server(('127.0.0.1', 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
