"""config(), show_config() and ``python -m csoftmax info``."""
import json
import platform
import re
import subprocess
import sys

import pytest

import csoftmax
from csoftmax import _kernels
from csoftmax._platform import cpuinfo_field
from csoftmax.__main__ import _compiler_from_binary


def test_config_keys(isa):
    cfg = csoftmax.config()
    assert {"version", "isa", "threads"} <= set(cfg)
    assert cfg["version"] == csoftmax.__version__
    assert cfg["isa"] == isa                       # the kernel in use follows set_isa
    assert cfg["isa"] in _kernels.available_isas()
    assert isinstance(cfg["threads"], int) and cfg["threads"] >= 1


KNOWN_VENDORS = {"GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "  Shanghai  "}


def test_cpu_vendor_is_cpuids():
    vendor = csoftmax.config()["cpu_vendor"]
    assert vendor == _kernels.cpu_vendor()
    if platform.machine() in ("x86_64", "AMD64") and _kernels.best_isa() != "scalar":
        assert len(vendor) == 12, vendor  # the three registers' twelve characters
    # the registers in their order (EBX, EDX, ECX): the host's /proc/cpuinfo
    # name, or (an emulated CPU, as under qemu-user, reports its own while
    # /proc/cpuinfo shows the host's) another vendor's whole name
    proc = cpuinfo_field("vendor_id")
    if proc is not None and vendor:
        assert vendor == proc or vendor in KNOWN_VENDORS, (vendor, proc)


def test_scratch_rows_default_follows_the_cpu_and_round_trips():
    """Scratch rows for long rows (src_c/dispatch.c) are on by default on Intel
    CPUs only (cpuid's vendor); set_scratch_rows(None) restores that default."""
    default = _kernels.scratch_rows()
    assert default == (_kernels.cpu_vendor() == "GenuineIntel")
    try:
        for flag in (not default, default, True, False):
            _kernels.set_scratch_rows(flag)
            assert csoftmax.config()["scratch_rows"] is flag
        _kernels.set_scratch_rows(None)
        assert _kernels.scratch_rows() is default
    finally:
        _kernels.set_scratch_rows(default)


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


def test_cli_info_into_a_closed_pipe_is_quiet():
    """`python -m csoftmax info | head -1`: the reader gone before the output is
    written ends the command without a traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "csoftmax", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child has imported anything, let alone written
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert b"BrokenPipe" not in err, err.decode(errors="replace")
    assert proc.returncode == 1


def test_cli_without_command_fails():
    proc = _run()
    assert proc.returncode != 0
    assert "usage" in proc.stderr.lower()


# --- the build recorded by setup.py (csoftmax/_build_info.py) --------------------------------

def _build():
    build = csoftmax.config()["build"]
    assert build is not None, ("config()['build'] is None: the extension was built without "
                               "setup.py's build_ext (no csoftmax/_build_info.py)")
    return build


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_build_info_recorded():
    build = _build()
    for key in ("compiler", "base_cflags", "extra_compile_args", "openmp", "flags_by_file",
                "flags_by_isa", "cython", "numpy"):
        assert key in build, key
    assert isinstance(build["compiler"], str) and build["compiler"]
    assert re.fullmatch(r"\d+\.\d+.*", build["cython"]), build["cython"]
    assert re.fullmatch(r"\d+\.\d+.*", build["numpy"]), build["numpy"]
    # the extension's own sources, the Cython module among them
    assert any(name.endswith("_kernels.c") for name in build["flags_by_file"])
    assert (build["openmp"] is not None) == _kernels.openmp_enabled()
    if not build["sanitize"]:
        assert "-O3" in build["extra_compile_args"]


def test_build_info_is_a_copy():
    csoftmax.config()["build"]["compiler"] = "changed"
    assert csoftmax.config()["build"]["compiler"] != "changed"


def test_build_compiler_is_the_one_in_the_binary():
    """The recorded compiler version is the one whose GCC/clang stamp is in the extension."""
    build = _build()
    stamp = _compiler_from_binary(_kernels.__file__)
    if stamp is None or "GCC: (" not in stamp or "(" not in build["compiler"]:
        pytest.skip(f"not a GCC build with a .comment stamp: {build['compiler']!r} / {stamp!r}")
    version = build["compiler"][build["compiler"].index("("):]   # "(Debian 12.2.0-14) 12.2.0"
    assert version in stamp, (build["compiler"], stamp)


@pytest.mark.skipif(not re.fullmatch(r"x86_64|AMD64|amd64", __import__("platform").machine()),
                    reason="x86-64 ISA files only")
def test_build_flags_name_the_isa_of_each_kernel_file():
    by_isa = _build()["flags_by_isa"]
    assert {"scalar", "avx2", "avx512"} <= set(by_isa), sorted(by_isa)
    for isa, required in (("avx2", {"-mavx2", "-mfma"}),
                          ("avx512", {"-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl"})):
        assert by_isa[isa], isa
        for name, flags in by_isa[isa].items():
            assert required <= set(flags), (name, flags)
    for name, flags in by_isa["scalar"].items():      # the portable baseline has no -m flag
        assert not [flag for flag in flags if flag.startswith("-m")], (name, flags)


def test_build_flags_no_native_no_fast_math():
    build = _build()
    if build.get("native"):
        pytest.skip("local build with the CSOFTMAX_NATIVE=1 opt-in")
    forbidden = ("-march=native", "-mtune=native", "-ffast-math", "-Ofast",
                 "-funsafe-math-optimizations", "-ffinite-math-only")
    found = [s for s in _strings(build) if any(flag in s for flag in forbidden)]
    assert not found, found


def test_cli_info_prints_the_build():
    proc = _run("info")
    assert proc.returncode == 0, proc.stderr
    build = _build()
    assert "not recorded" not in proc.stdout
    assert build["compiler"] in proc.stdout
    assert " ".join(build["extra_compile_args"]) in proc.stdout
    if "avx2" in build["flags_by_isa"]:
        assert "-mavx2" in proc.stdout
    assert json.loads(_run("info", "--json").stdout)["build"] == build
