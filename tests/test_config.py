"""config(), show_config() and ``python -m csoftmax info``."""
import json
import subprocess
import sys

import csoftmax
from csoftmax import _kernels


def test_config_keys(isa):
    cfg = csoftmax.config()
    assert {"version", "isa", "threads"} <= set(cfg)
    assert cfg["version"] == csoftmax.__version__
    assert cfg["isa"] == isa                       # the kernel in use follows set_isa
    assert cfg["isa"] in _kernels.available_isas()
    assert isinstance(cfg["threads"], int) and cfg["threads"] >= 1


def test_show_config_prints_every_key(capsys):
    csoftmax.show_config()
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    cfg = csoftmax.config()
    assert len(lines) == len(cfg)
    for key, value in cfg.items():
        assert any(line.split()[0] == key and str(value) in line for line in lines), key


def test_threads_setting_round_trips():
    before = csoftmax.get_num_threads()
    try:
        csoftmax.set_num_threads(1)
        assert csoftmax.config()["threads"] == 1 == csoftmax.get_num_threads()
    finally:
        csoftmax.set_num_threads(before)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "csoftmax", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_info():
    proc = _run("info")
    assert proc.returncode == 0, proc.stderr
    assert csoftmax.__version__ in proc.stdout
    assert _kernels.best_isa() in proc.stdout
    keys = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert {"version", "isa", "threads"} <= keys


def test_cli_info_json():
    proc = _run("info", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["version"] == csoftmax.__version__
    assert info["isa"] in _kernels.available_isas()


def test_cli_without_command_fails():
    proc = _run()
    assert proc.returncode != 0
    assert "usage" in proc.stderr.lower()
