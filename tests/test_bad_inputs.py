"""Every bad input of tests/bad_inputs.py ends in a clear error, raised early."""

import pytest
from bad_inputs import CASES, CLEAR_ORIGINS, run_case


def test_enough_distinct_bad_inputs_are_tried():
    names = [name for name, _ in CASES]
    assert len(set(names)) == len(names) >= 60


@pytest.mark.parametrize("case", [case for _, case in CASES], ids=[n for n, _ in CASES])
def test_bad_input_gets_a_clear_error(case):
    kind, origin, message = run_case(case)
    assert kind != "none", "accepted silently"
    assert origin in CLEAR_ORIGINS, f"{kind} from inside {origin}: {message}"
    assert len(message) > 20
