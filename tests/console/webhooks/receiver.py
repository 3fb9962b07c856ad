"""A webhook receiver on loopback HTTPS for the delivery tests: it records every POST (headers
and body, as received) and answers from a script a test sets, `receiver.answers`: a list of
(status, headers, delay in seconds) used in turn, the last one for ever after."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        with server.lock:
            server.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, headers, delay = server.answers[min(len(server.received), len(server.answers)) - 1]
        if delay:
            time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class WebhookReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cert_path: Path, key_path: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict, float]] = [(204, {}, 0)]

    def url(self, path: str = "/hook") -> str:
        return f"https://127.0.0.1:{self.server_address[1]}{path}"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
