"""The bench drivers' one HTTP call: a JSON request to tikgated on 127.0.0.1 (standard library)."""
import http.client
import json


def request(port, key, method, path, body=None, timeout=10):
    """(status, decoded JSON or None) of method path with key as the bearer token."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        h = {'Authorization': 'Bearer ' + key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)
    finally:
        c.close()
