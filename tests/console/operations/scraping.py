"""Reading /metrics the way Prometheus does: every sample, by name and labels."""

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(http, **extra) -> Samples:
    response = http.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much the sample `name{labels}` grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def changed(before: Samples, after: Samples, prefix: str) -> dict:
    """Every sample starting with `prefix` that grew, with how much."""
    grown = {}
    for key, now in after.items():
        if key[0].startswith(prefix) and now != before.get(key, 0.0):
            grown[key] = now - before.get(key, 0.0)
    return grown
