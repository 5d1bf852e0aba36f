"""Process-wide counters for the Prometheus ``/metrics`` endpoint: HTTP
requests and their latencies, and hook failures. Kept in memory per process;
a scraper sums the processes of a deployment."""

from __future__ import annotations

import threading
from collections import Counter

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_lock = threading.Lock()
requests: Counter[tuple[str, str, int]] = Counter()           # (method, route, status) -> count
latency_counts: Counter[tuple[str, float]] = Counter()         # (route, bucket upper bound) -> count
latency_sums: Counter[str] = Counter()                         # route -> seconds
latency_totals: Counter[str] = Counter()                       # route -> count
hook_errors: Counter[tuple[str, str]] = Counter()              # (hook, plugin) -> count


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    with _lock:
        requests[(method, route, status)] += 1
        latency_sums[route] += seconds
        latency_totals[route] += 1
        for bound in LATENCY_BUCKETS:
            if seconds <= bound:
                latency_counts[(route, bound)] += 1


def record_hook_error(hook: str, plugin: str | None) -> None:
    with _lock:
        hook_errors[(hook, plugin or "unknown")] += 1


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(outbox_by_status: dict[str, int]) -> str:
    """The Prometheus text format (version 0.0.4)."""
    lines = ["# HELP crm_http_requests_total HTTP requests served, by method, route and status.",
             "# TYPE crm_http_requests_total counter"]
    with _lock:
        for (method, route, status), count in sorted(requests.items()):
            lines.append(f'crm_http_requests_total{{method="{method}",route="{_label(route)}",status="{status}"}} {count}')
        lines += ["# HELP crm_http_request_duration_seconds Time to answer a request, by route.",
                  "# TYPE crm_http_request_duration_seconds histogram"]
        for route in sorted(latency_totals):
            label = _label(route)
            for bound in LATENCY_BUCKETS:
                lines.append(f'crm_http_request_duration_seconds_bucket{{route="{label}",le="{bound}"}} {latency_counts[(route, bound)]}')
            lines.append(f'crm_http_request_duration_seconds_bucket{{route="{label}",le="+Inf"}} {latency_totals[route]}')
            lines.append(f'crm_http_request_duration_seconds_sum{{route="{label}"}} {latency_sums[route]:.6f}')
            lines.append(f'crm_http_request_duration_seconds_count{{route="{label}"}} {latency_totals[route]}')
        lines += ["# HELP crm_hook_errors_total Hook implementations that raised, by hook and plugin.",
                  "# TYPE crm_hook_errors_total counter"]
        for (hook, plugin), count in sorted(hook_errors.items()):
            lines.append(f'crm_hook_errors_total{{hook="{hook}",plugin="{_label(plugin)}"}} {count}')
    lines += ["# HELP crm_outbox_messages Outbox messages by status.", "# TYPE crm_outbox_messages gauge"]
    for status, count in sorted(outbox_by_status.items()):
        lines.append(f'crm_outbox_messages{{status="{status}"}} {count}')
    return "\n".join(lines) + "\n"
