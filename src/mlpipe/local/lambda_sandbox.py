"""Confine a Lambda worker as Lambda confines a function: Linux Landlock, no privileges needed.

On AWS a handler holds its role's credentials and a private /tmp, nothing of the developer's. Here it
runs as the developer, so the worker restricts itself before importing the handler (once per process):
read/execute only Python, its packages, the function's code, /usr, /lib*, /etc and a few devices;
write only its private temp directory; TCP connect only to the embedded AWS's port (ABI >= 4); no
signals or abstract UNIX sockets outside (ABI >= 6); no UNIX sockets at all (seccomp, x86_64/arm64).
The user's home, ~/.aws, mlpipe's cache (credentials.json, the state) and the checkout are unreadable.

Our own ctypes, not a dependency: the `landlock` PyPI package has only alpha pre-releases (1.0.0.dev5,
May 2025) and covers the filesystem only; the kernel interface is three system calls with small,
stable structs (Documentation/userspace-api/landlock.rst). Standard library only: lambda_worker.py,
a standalone script, loads this file by path. `plan` (pure) runs in the server, `enforce` in the worker.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import struct
import sys
from typing import Any

# landlock_create_ruleset / add_rule / restrict_self: one number on every architecture using the
# generic syscall table (x86_64, arm64, riscv, ...); alpha, mips and ia64 are offset, not supported.
_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446
_MACHINES = ("x86_64", "aarch64", "arm64", "riscv64", "ppc64le", "ppc64", "s390x", "armv7l", "i686", "loongarch64")
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
# machine -> (AUDIT_ARCH_*, __NR_socket) for the seccomp filter; io_uring_setup is 425 on both
SECCOMP_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}

# Filesystem rights (bit n); the kernel handles bits 0-12 at ABI 1, REFER (13) from 2, TRUNCATE (14)
# from 3, IOCTL_DEV (15) from 5. A right the ruleset handles is denied unless a rule allows it.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only ones a file (not dir) takes
NET_CONNECT_TCP = 1 << 1  # ABI 4; binding stays allowed, as on Lambda
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

# Read (and execute) for Python and what a handler's libraries read: certificates, time zones, hosts.
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys/devices/system/cpu")
DEVICES = {
    "/dev/null": READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV,
    "/dev/zero": READ_FILE,
    "/dev/random": READ_FILE,
    "/dev/urandom": READ_FILE,
}


def handled(abi: int) -> tuple[int, int, int, int]:
    """(filesystem rights, network rights, scopes, size of struct landlock_ruleset_attr) at an ABI.

    The struct grew a field at ABI 4 (network) and 6 (scopes); an older kernel refuses the longer one."""
    fs_bits = 13 if abi < 2 else 14 if abi < 3 else 15 if abi < 5 else 16
    net = NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    return (1 << fs_bits) - 1, net, scoped, size


def abi_version() -> tuple[int, str]:
    """(Landlock ABI version, "") or (0, why this process cannot be confined)."""
    if not sys.platform.startswith("linux"):
        return 0, f"Landlock is a Linux kernel feature (this is {sys.platform})"
    if os.uname().machine not in _MACHINES:
        return 0, f"Landlock's system call numbers are not known for {os.uname().machine}"
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if version > 0:
        return int(version), ""
    code = ctypes.get_errno()
    if code == errno.EOPNOTSUPP:
        return 0, "Landlock is built in but disabled at boot (add landlock to the kernel's lsm= parameter)"
    return 0, f"this kernel ({os.uname().release}) has no Landlock (Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK)"


def _exposes(granted: str, protected: str) -> bool:
    """True when a rule on `granted` would let the worker read `protected` (its ancestor or itself)."""
    try:
        return os.path.commonpath([granted, protected]) == granted
    except ValueError:  # one relative, one absolute
        return False


def plan(code_dir: str, tmp_dir: str, port: int, protected: list[str], prefixes: list[str]) -> dict[str, Any]:
    """The worker's rules: what it may read, write and connect to (pure; `enforce` applies them).

    `prefixes` are Python's (sys.prefix, sys.base_prefix, site-packages...); `protected` are the
    directories no rule may expose (the user's home, mlpipe's cache): a grant that contains one is
    dropped (a Python installed in ~/.pyenv stays readable, the home around it does not)."""
    wanted = [*dict.fromkeys(os.path.abspath(p) for p in [*prefixes, *SYSTEM_READ, code_dir])]
    read = [p for p in wanted if not any(_exposes(p, os.path.abspath(x)) for x in protected)]
    return {
        "read": read,
        "read_self_proc": True,  # /proc/self only (peak memory, Python's own lookups), never other pids
        "write": [os.path.abspath(tmp_dir)],
        "devices": DEVICES,
        "connect_ports": [port],
        "block_unix_sockets": True,  # where SECCOMP_ARCH knows the machine
    }


def python_prefixes() -> list[str]:
    """Where this interpreter's standard library and packages live (the worker runs the same one)."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, paths["purelib"], paths["platlib"]]
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []  # pip --user (not in a venv)
    return [*found, *site.getsitepackages(), *user]


def enforce(rules: dict[str, Any]) -> int:
    """Restrict this thread and its future children to `rules`; returns the ABI used. Call it while the
    process has one thread (Landlock confines the calling thread only); raises OSError when it cannot."""
    abi, reason = abi_version()
    if abi < 1:
        raise OSError(errno.EOPNOTSUPP, reason)
    libc = ctypes.CDLL(None, use_errno=True)
    fs, net, scoped, size = handled(abi)

    def call(number: int, *args: Any) -> int:
        result = int(libc.syscall(number, *args))
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"landlock syscall {number}: {os.strerror(code)}")
        return result

    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs, net, scoped)[:size], size)
    ruleset = call(_SYS_CREATE, attr, ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        paths = [(p, READ) for p in rules["read"]] + [(p, fs) for p in rules["write"]]
        paths += list(rules["devices"].items())
        if rules.get("read_self_proc"):
            paths.append((f"/proc/{os.getpid()}", READ_FILE | READ_DIR))
        for path, access in paths:
            _add_path(call, ruleset, path, access & fs)
        for port in rules["connect_ports"] if net else []:
            rule = ctypes.create_string_buffer(struct.pack("=QQ", NET_CONNECT_TCP, int(port)), 16)
            call(_SYS_ADD, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT), rule, ctypes.c_uint32(0))
        # Required of an unprivileged process: no exec may regain rights the sandbox removed (setuid).
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        call(_SYS_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    if rules.get("block_unix_sockets") and os.uname().machine in SECCOMP_ARCH:
        _block_unix_sockets(libc)
    return abi


def _block_unix_sockets(libc: Any) -> None:
    """Landlock (ABI <= 7) does not check connect() to a UNIX socket by path: /var/run/docker.sock, the
    D-Bus session bus or an ssh-agent would still answer the handler. A seccomp filter refuses creating
    any AF_UNIX socket (socketpair stays: it reaches nothing), io_uring (its own socket/connect path),
    x32 system calls and any other syscall ABI than the native one (ways around the check)."""
    arch, socket_nr = SECCOMP_ARCH[os.uname().machine]
    deny, allow = 0x00050000 | errno.EACCES, 0x7FFF0000  # SECCOMP_RET_ERRNO | EACCES, SECCOMP_RET_ALLOW
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    program = [  # (code, jump if true, jump if false, k); seccomp_data: nr at 0, arch at 4, args[0] at 16
        (load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, deny),
        (load, 0, 0, 0), (jge, 5, 0, 0x40000000), (jeq, 4, 0, 425), (jeq, 0, 2, socket_nr),
        (load, 0, 0, 16), (jeq, 1, 0, 1),  # AF_UNIX
        (ret, 0, 0, allow), (ret, 0, 0, deny),
    ]  # fmt: skip
    code = b"".join(struct.pack("=HBBI", *insn) for insn in program)
    filters = ctypes.create_string_buffer(code, len(code))

    class Program(ctypes.Structure):  # struct sock_fprog
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Program(len(program), ctypes.cast(filters, ctypes.c_void_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def _add_path(call: Any, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this system (/lib32, /lib64...): nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_RIGHTS  # the kernel refuses directory rights on a file
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
        call(_SYS_ADD, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0))
    finally:
        os.close(fd)
