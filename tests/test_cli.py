"""The command line is strict and speaks in one line: every user error exits 2 with one
`usage error:` (or store error) line naming the fix, and never a traceback (main() returns 2
instead of raising). wirewatch's own options work before and after the command; Beam options
pass only when Beam knows them, or after `--`."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from wirewatch.pipelines.cli import main, parse


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("builtin_lists: false\nsinks:\n  console: {type: console}\n")
    return path


def fails(capsys, argv: list[str]) -> str:
    """The one stderr line of a command that must exit 2 (and print nothing on stdout)."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and out == ""
    return lines[0]


def test_a_typo_in_a_run_option_is_refused_before_anything_runs(capsys, cfg):
    """`run --onse` once started the endless watch loop; now nothing is loaded at all."""
    line = fails(capsys, ["run", "--onse", "--config", str(cfg)])
    assert line == (
        "usage error: wirewatch run: unknown option '--onse' (did you mean '--once'?). "
        "Fix: see 'wirewatch run --help'"
    )


def test_an_option_beam_does_not_know_is_refused_with_beams_closest(capsys, cfg):
    line = fails(capsys, ["run", "--once", "--config", str(cfg), "--direct_num_worker", "2"])
    assert line == (
        "usage error: wirewatch run: unknown option '--direct_num_worker' "
        "(did you mean '--direct_num_workers'?). Fix: see 'wirewatch run --help'"
    )


def test_a_command_that_takes_no_beam_options_refuses_them(capsys, cfg):
    line = fails(capsys, ["check", "--config", str(cfg), "--runner", "FlinkRunner"])
    assert line == (
        "usage error: wirewatch check: unknown option '--runner'. Fix: see 'wirewatch check --help'"
    )


def test_a_mistyped_command_gets_a_suggestion(capsys):
    line = fails(capsys, ["chek"])
    assert line == (
        "usage error: wirewatch: unknown command 'chek' (did you mean 'check'?). "
        "Fix: see 'wirewatch --help'"
    )


def test_no_command(capsys):
    line = fails(capsys, [])
    assert line == (
        "usage error: wirewatch: the following arguments are required: COMMAND. "
        "Fix: see 'wirewatch --help'"
    )


def test_a_bad_option_value(capsys, cfg):
    line = fails(capsys, ["run", "--cycles", "two", "--config", str(cfg)])
    assert line == (
        "usage error: wirewatch run: argument --cycles: invalid int value: 'two'. "
        "Fix: see 'wirewatch run --help'"
    )


def test_abbreviations_are_not_options(capsys, cfg):
    line = fails(capsys, ["run", "--onc", "--config", str(cfg)])
    assert line.startswith("usage error: wirewatch run: unknown option '--onc' (did you mean")


def test_an_unknown_runner(capsys, cfg):
    line = fails(capsys, ["run", "--once", "--config", str(cfg), "--runner", "FooRunner"])
    assert line.startswith(
        "usage error: wirewatch run: unknown runner 'FooRunner' (did you mean 'FnApiRunner'?). "
        "Fix: leave out --runner for Beam's in-process engine, or name one of DataflowRunner, "
    )


def test_prism_without_a_binary_would_download_one(capsys, cfg):
    line = fails(capsys, ["run", "--once", "--config", str(cfg), "--runner", "PrismRunner"])
    assert line == (
        "usage error: wirewatch run: --runner PrismRunner would download the Prism binary from "
        "the internet. Fix: pass --prism_location or leave out --runner (Beam's in-process engine)"
    )


def test_a_state_dir_that_cannot_be_created(capsys, cfg, tmp_path):
    """Under a regular file: no folder can be made there, on any machine (like /proc/nope)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = fails(capsys, ["redeliver", "--config", str(cfg), "--state-dir", str(blocker / "state")])
    assert line.startswith(f"state store error: {blocker / 'state'}")
    assert "Fix: " in line


def test_a_missing_config_named_by_the_environment(capsys, monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("WIREWATCH_CONFIG", str(missing))
    assert main(["check"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"wirewatch: config {missing} ($WIREWATCH_CONFIG)"
    assert err[1].startswith(f"config error: {missing}: cannot read config: No such file")
    assert len(err) == 2


def test_init_refuses_to_overwrite(capsys, tmp_path):
    (tmp_path / "wirewatch.yaml").write_text("feeds: []\n")
    line = fails(capsys, ["init", str(tmp_path)])
    assert (
        line
        == f"error: {tmp_path / 'wirewatch.yaml'}: already exists. Fix: edit it, or pass --force"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{cfg}", "check"],
        ["check", "--config", "{cfg}"],
        ["--json", "check", "--config", "{cfg}"],
        ["check", "--config", "{cfg}", "--json"],
    ],
)
def test_the_common_options_work_before_and_after_the_command(argv, cfg):
    _, args = parse([a.format(cfg=cfg) for a in argv])
    assert args.command == "check" and args.config == str(cfg)
    assert args.json == ("--json" in argv)


def test_options_before_the_command_survive_the_commands_parser(cfg):
    """The command's own copy of --config has no default: it must not overwrite the first."""
    _, args = parse(["--config", str(cfg), "-v", "rules", "test", "--json"])
    assert (args.config, args.verbose, args.json) == (str(cfg), True, True)


def test_verbose_after_the_command_turns_on_debug_logging(cfg, capsys):
    assert main(["check", "--config", str(cfg), "-v"]) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert main(["check", "--config", str(cfg)]) == 0
    assert logging.getLogger().level == logging.WARNING


def test_known_beam_options_and_everything_after_a_double_dash_go_to_beam(cfg):
    _, args = parse(
        ["run", "--once", "--config", str(cfg), "--direct_num_workers", "2"]
        + ["--", "--my_runner_flag", "x"]
    )
    assert args.once and args.config == str(cfg)
    assert args.beam_args == ["--direct_num_workers", "2", "--my_runner_flag", "x"]


def test_a_double_dash_keeps_its_meaning_for_commands_without_beam_options(cfg):
    """try-rule QUERY: `--` lets a query start with a dash."""
    _, args = parse(["try-rule", "--config", str(cfg), "--", "-minus", "file.txt"])
    assert (args.query, args.files, args.beam_args) == ("-minus", ["file.txt"], [])


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("wirewatch ")


def test_a_runner_class_that_is_not_there(capsys, cfg):
    line = fails(capsys, ["run", "--once", "--config", str(cfg), "--runner", "json.NoRunner"])
    assert line == (
        "usage error: wirewatch run: runner 'json.NoRunner' is not available: module 'json' has "
        "no attribute 'NoRunner'. Fix: see 'wirewatch run --help'"
    )


def test_run_starts_its_worker_zygote_before_importing_the_config_models(tmp_path):
    """The zygote's imports are what the first stage's workers wait for: it starts before
    the CLI imports what only the driver needs (the config models take 0.3 s)."""
    code = (
        "import sys\n"
        "from wirewatch.pipelines import zygote\n"
        "seen = []\n"
        "zygote.start_early = lambda argv: seen.append('wirewatch.transforms.config' in sys.modules)\n"
        "from wirewatch.pipelines.cli import main\n"
        f"main(['run', '--config', {str(tmp_path / 'missing.yaml')!r}, '--once',\n"
        "      '--direct_num_workers', '2', '--direct_running_mode', 'multi_processing'])\n"
        "assert seen[:1] == [False], seen\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_command_exits_with_mains_code_after_the_atexit_handlers_and_a_flush(tmp_path):
    """`command` skips the interpreter's teardown (a second of freeing a cycle's heap), not
    what an exit must do: the atexit handlers run (the zygote's stop, logging's flush), what
    was printed arrives, and the exit code is main's."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        f"sys.argv = ['wirewatch', 'check', '--config', {str(tmp_path / 'missing.yaml')!r}]\n"
        "from wirewatch.pipelines.cli import command\n"
        "command()\n"
        "print('not reached')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == "atexit ran\n"
    assert "missing.yaml" in result.stderr and "Traceback" not in result.stderr


def test_the_command_exits_when_main_left_a_thread_pool_open():
    """A failed fetch can leave a pool's idle workers waiting (they are not daemons): the
    command still ends, as the interpreter's own exit would, and with main's code."""
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "import wirewatch.pipelines.cli as cli\n"
        "def main():\n"
        "    global pool  # still referenced: its idle workers are never woken by its collection\n"
        "    pool = ThreadPoolExecutor(2)\n"
        "    pool.submit(lambda: None).result()\n"
        "    return 3\n"
        "cli.main = main\n"
        "cli.command()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr


@pytest.mark.parametrize(
    "argv, said",
    [
        (["state", "--prune-days", "-1"], "argument --prune-days: -1 is too small: at least 1"),
        (["state", "--prune-days", "x"], "argument --prune-days: invalid int value: 'x'"),
        (["run", "--interval", "-5"], "argument --interval: -5 is too small: at least 0.1"),
        (["run", "--cycles", "0"], "argument --cycles: 0 is too small: at least 1"),
        (["stories", "--limit", "-1"], "argument --limit: -1 is too small: at least 1"),
    ],
)
def test_a_count_or_period_out_of_range_is_a_usage_error(argv, said, tmp_path, capsys):
    """`state --prune-days -1` forgot every seen article; `run --interval -5` polled every
    second; `run --cycles 0` did nothing and said nothing. The store is not even opened."""
    state = tmp_path / "state"
    assert main([*argv, "--state-dir", str(state)]) == 2
    command = argv[0]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"usage error: wirewatch {command}: {said}. Fix: see 'wirewatch {command} --help'"
    )
    assert not state.exists()


def test_redeliver_to_a_sink_the_config_lacks_is_a_usage_error(capsys, cfg, tmp_path):
    """It said "redelivered 0, still dead 0, skipped 0", exit 0, for a typo."""
    state = tmp_path / "state"
    argv = ["redeliver", "--sink", "consol", "--config", str(cfg), "--state-dir", str(state)]
    assert fails(capsys, argv) == (
        f"usage error: wirewatch redeliver: --sink consol: {cfg} has no such sink (did you "
        "mean 'console'?). Fix: one of: console"
    )
    assert not state.exists()
