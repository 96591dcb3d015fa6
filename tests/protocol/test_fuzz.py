"""Fuzzing the experiment loader and validator in-process: schema-shaped dicts from
hypothesis and mutations of the shipped example files — over 10,000 inputs per run. Each
must give an Experiment or a ConfigError (no other exception, so no traceback from
``bss2emu validate``) within 5 s of CPU time (wall time on this shared 2-core machine
says more about the other jobs than about the input; both are reported). ``benchmarks/fuzz_loader.py`` prints the figures and runs
the coverage-guided fuzzer."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings

from fuzzing import Outcome, check_bytes, check_data, example_texts, experiment_data, mutate

SCHEMA_INPUTS = 1500
MUTATED_INPUTS = 8500
LIMIT_S = 5.0

_schema = Outcome()


@settings(max_examples=SCHEMA_INPUTS, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(experiment_data())
def test_schema_shaped_inputs_validate_or_raise_config_error(data):
    before = len(_schema.unexpected)
    check_data(data, _schema)
    assert len(_schema.unexpected) == before, _schema.unexpected[-1]
    assert _schema.slowest_s < LIMIT_S


def test_the_schema_fuzzer_ran_its_inputs_and_reached_both_outcomes():
    # runs after the hypothesis test above (pytest keeps file order)
    assert _schema.inputs >= SCHEMA_INPUTS, _schema
    assert _schema.valid > 0 and _schema.refused > 0, _schema


def test_mutated_example_files_load_or_raise_config_error():
    rng = random.Random(20261206)
    texts = list(example_texts().values())
    assert len(texts) >= 3
    outcome = Outcome()
    for _ in range(MUTATED_INPUTS):
        raw, is_json = mutate(rng, rng.choice(texts))
        check_bytes(raw, is_json, outcome)
    print(f"mutation fuzzing: {outcome}")
    assert not outcome.unexpected, outcome.unexpected[:5]
    assert outcome.slowest_s < LIMIT_S, outcome
    assert outcome.valid > 0 and outcome.refused > 0, outcome  # both sides were reached
    assert SCHEMA_INPUTS + outcome.inputs >= 10_000
