"""Every limit of the command line is checked before any work, and the message names
the flag as the user typed it (issue: reliability, round 2)."""
import time

import pytest

from ntm_numpy.cli import main
from ntm_numpy.constants import MAX_LENGTH
from ntm_numpy.pretrained import pretrained_path
from ntm_numpy.training import evaluate_scores
from ntm_numpy.training.sweep import MAX_SEEDS, parse_seeds, run_sweep

COPY = pretrained_path("copy")


def _error(capsys, argv):
    started = time.monotonic()
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert time.monotonic() - started < 5  # refused at once, before any work
    return capsys.readouterr().err


@pytest.mark.parametrize("argv, flag", [
    (["train", "copy", "--lengths", "0"], "--lengths"),
    (["train", "copy", "--lengths", "-5"], "--lengths"),
    (["train", "copy", "--lengths", str(MAX_LENGTH + 1)], "--lengths"),
    (["evaluate", COPY, "--lengths", "10", "1000000"], "--lengths"),
    (["plot", COPY, "--length", "0"], "--length"),
    (["sweep", "copy", "--lengths", "0"], "--lengths"),
])
def test_lengths_are_checked_when_the_command_line_is_parsed(capsys, tmp_path, argv, flag):
    err = _error(capsys, argv + (["--out", str(tmp_path / "o")] if argv[0] != "evaluate"
                                 else []))
    assert f"argument {flag}: expected a length from 1 to {MAX_LENGTH:,}" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["evaluate", "plot"])
def test_a_negative_seed_names_the_flag(capsys, command):
    err = _error(capsys, [command, COPY, "--seed", "-1"])
    assert "argument --seed: expected" in err


def test_a_huge_seed_range_is_refused_without_being_built(capsys, tmp_path):
    err = _error(capsys, ["sweep", "copy", "--seeds", "0-100000000", "--out", str(tmp_path)])
    assert f"argument --seeds: expected at most {MAX_SEEDS:,} seeds" in err
    with pytest.raises(ValueError, match="^seeds: expected at most"):
        parse_seeds(f"0-{10**15}")
    with pytest.raises(ValueError, match="^seeds: expected at most"):
        run_sweep(seeds=range(10**12), out=tmp_path / "s", stream=False)
    assert not (tmp_path / "s").exists()


def test_the_python_api_checks_every_length_before_it_evaluates_any():
    from ntm_numpy import load_pretrained

    with pytest.raises(ValueError, match="^lengths: expected a length from 1"):
        evaluate_scores(load_pretrained("copy"), "copy", [10, 0])
    with pytest.raises(ValueError, match="^lengths: expected a length from 1"):
        evaluate_scores(load_pretrained("copy"), "copy", [10, MAX_LENGTH + 1])


def test_the_maximum_length_covers_the_inference_benchmark():
    assert MAX_LENGTH >= 10_000


@pytest.mark.parametrize("argv, flag", [
    (["train", "copy", "--hidden-size", "64"], "--hidden-size"),
    (["train", "copy", "--model", "lstm", "--memory-rows", "64"], "--memory-rows"),
])
def test_an_option_of_the_other_kind_of_model_is_refused(capsys, tmp_path, argv, flag):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ntm-numpy: error: {flag}: ") and "expected only with" in err
    assert not (tmp_path / "o").exists()
