"""Schemathesis over the API's own OpenAPI document, in process (ASGI): no 5xx, responses as documented.

Every operation is fuzzed with generated valid and invalid inputs (schemathesis' default
phases, a bounded number of examples per operation) twice: as the public and with an
admin token (so that writes reach their handlers). All of schemathesis' default checks
run (no server error, status code, content type, headers and response schema
conformance, negative data rejected, positive data accepted).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

#: Examples per operation and run; small enough to keep this file well under a minute on 2 cores.
MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzz_target(populated, helpers):
    from tianshan.services.api.app import create_app

    app = create_app(populated.url, region=helpers.small_region(), products_dir=populated.products_dir,
                     rate_limit_per_s=None, poll_s=None)
    return app, helpers.auth(populated.tokens["admin"])


@pytest.fixture(scope="module")
def api_schema(fuzz_target):
    app, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
#: Examples run, per (who, mode) -- printed at the end (``pytest -s``) for the report.
TALLY: dict[tuple[str, str], int] = {}


def _fuzz(schema, headers: dict, who: str) -> list[str]:
    """Run every operation in both generation modes; the failures as text (empty when clean).

    schemathesis' pytest integration (``from_fixture``) does not run under pytest 9, so each
    operation's strategy is driven by a Hypothesis test built here.
    """
    from schemathesis.generation.modes import GenerationMode

    failures = []
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            key = (who, mode.value)

            @_SETTINGS
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case):
                TALLY[key] = TALLY.get(key, 0) + 1
                case.call_and_validate(headers=headers)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid input
            except Exception as err:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{who} {mode.value} {op.label}: {type(err).__name__}: {str(err)[:2000]}")
    return failures


@pytest.mark.parametrize("who", ["public", "admin"])
def test_fuzzed_requests_never_fail(api_schema, fuzz_target, who):
    _, admin = fuzz_target
    failures = _fuzz(api_schema, admin if who == "admin" else {}, who)
    n_ops = sum(1 for _ in api_schema.get_all_operations())
    print(f"\nschemathesis ({who}): {n_ops} operations, "
          + ", ".join(f"{mode} {n} examples" for (w, mode), n in sorted(TALLY.items()) if w == who)
          + f", {len(failures)} failures")
    assert not failures, "\n\n".join(failures)
    assert sum(n for (w, _), n in TALLY.items() if w == who) >= n_ops * 2


def test_the_document_lists_every_operation(fuzz_target):
    from fastapi.testclient import TestClient

    app, _ = fuzz_target
    doc = TestClient(app).get("/api/v1/openapi.json").json()
    ops = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert ops == {
        ("GET", "/api/v1/events"), ("GET", "/api/v1/events/{event_id}"),
        ("POST", "/api/v1/events/{event_id}/review"), ("GET", "/api/v1/events/{event_id}/products/{path}"),
        ("GET", "/api/v1/stations"), ("GET", "/api/v1/stations/{station_id}/qc"), ("GET", "/api/v1/alerts"),
        ("GET", "/api/v1/region/basemap"), ("GET", "/api/v1/region/cities"), ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/tokens"), ("GET", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/{token_id}"),
        ("POST", "/api/v1/restrictions")}
