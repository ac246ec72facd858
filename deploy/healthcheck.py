"""Container health check without curl: `python deploy/healthcheck.py http://127.0.0.1:8101/ready`.

Exits 0 when the URL answers 200 within 3 seconds, 1 otherwise.
"""

import sys
import urllib.request


def main(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (a fixed local URL)
            return 0 if response.status == 200 else 1
    except Exception as exc:  # refused, timeout, 503 (HTTPError): all mean "not healthy"
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/ready"))
