"""Hostile clients against the real server (issue 15): a refused body does not leave its client hanging, and
connections that go silent (idle, a head or a body that stops coming) are closed after the configured time."""
import base64
import http.client
import json
import os
import socket
import time

from conftest import TAXII, new_node, start_server

PASSWORD = "a long enough password"


def node_with_limits():
    data = new_node("meridian-hostile-")
    path = os.path.join(data, "meridian.toml")
    text = open(path).read()
    text = text.replace("max_content_length = 104857600", "max_content_length = 1048576")
    text = text.replace("[server]\n", "[server]\nidle_timeout_seconds = 4\nbody_timeout_seconds = 2\n")
    with open(path, "w") as f:
        f.write(text)
    return data


def auth():
    return "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()


def raw_post(port, content_length):
    """A socket on which the head of a POST of `content_length` bytes to the shared collection has been sent."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"POST /partnership/collections/shared/objects/ HTTP/1.1\r\nHost: x\r\nAccept: {TAXII}\r\n"
            f"Content-Type: {TAXII}\r\nAuthorization: {auth()}\r\nContent-Length: {content_length}\r\n\r\n")
    sock.sendall(head.encode())
    return sock


def test_a_body_over_the_limit_gets_413_and_the_connection_ends_without_the_client_waiting():
    data = node_with_limits()
    proc, base, port = start_server(data)
    try:
        for declared in (True, False):
            body = b'{"objects":[' + b"0," * (1_500_000) + b"0]}"  # 3 MB, over the 1 MiB limit
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            started = time.monotonic()
            conn.putrequest("POST", "/partnership/collections/shared/objects/")
            conn.putheader("Accept", TAXII)
            conn.putheader("Content-Type", TAXII)
            conn.putheader("Authorization", auth())
            conn.putheader("Connection", "close")
            if declared:
                conn.putheader("Content-Length", str(len(body)))
            else:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                if declared:
                    conn.send(body)
                else:
                    for i in range(0, len(body), 65536):
                        chunk = body[i:i + 65536]
                        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may stop reading once it has answered
            response = conn.getresponse()
            answer = response.read()
            assert response.status == 413, answer
            assert json.loads(answer)["http_status"] == "413"
            assert response.getheader("Connection") == "close"
            assert time.monotonic() - started < 10
            conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def closed_within(sock, seconds):
    """True when the server closes the connection within `seconds` (whatever it sends first)."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True
    return False


def test_silent_connections_are_closed_after_the_idle_timeout():
    data = node_with_limits()
    proc, base, port = start_server(data)
    try:
        idle = socket.create_connection(("127.0.0.1", port))
        slow_head = socket.create_connection(("127.0.0.1", port))
        slow_head.sendall(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAccept: ")
        started = time.monotonic()
        assert closed_within(idle, 10)
        assert closed_within(slow_head, 10)
        assert time.monotonic() - started < 10
        # A keep-alive connection that answered a request closes once it has been idle that long.
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        kept.request("GET", "/health")
        assert kept.getresponse().read() == b'{"status":"ok"}'
        assert closed_within(kept.sock, 10)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_body_that_stops_coming_gets_408_and_the_connection_closes():
    data = node_with_limits()
    proc, base, port = start_server(data)
    try:
        sock = raw_post(port, 1000)
        sock.sendall(b'{"objects":[')
        sock.settimeout(10)
        started = time.monotonic()
        # It keeps coming, a byte a second: never silent long enough for the idle timeout, but too slow in all.
        for _ in range(3):
            time.sleep(1)
            sock.sendall(b" ")
        answer = b""
        while b"did not arrive" not in answer:
            chunk = sock.recv(65536)
            assert chunk, "closed before the whole answer: " + answer.decode(errors="replace")
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"the body did not arrive within 2 seconds" in answer
        assert time.monotonic() - started < 8
        assert closed_within(sock, 10)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_client_still_sending_a_huge_refused_body_is_released_within_the_idle_timeout():
    data = node_with_limits()
    proc, base, port = start_server(data)
    try:
        sock = raw_post(port, 100 * 1024 ** 3)  # 100 GB: the client would send for minutes
        sock.settimeout(15)
        started = time.monotonic()
        released = False
        chunk = b"0" * 65536
        try:
            while time.monotonic() - started < 15:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
            released = True
        assert released, "the server kept reading a body it had refused"
        assert time.monotonic() - started < 15
    finally:
        proc.terminate()
        proc.wait(timeout=30)
