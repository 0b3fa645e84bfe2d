"""``python -m strongroom`` (console script ``strongroom-py``): the
everyday file commands of the ``strongroom`` command line, built on this
package, so that a pip install can encrypt a file from a shell.

Same names, options, secret sources and exit codes as the Rust command
(docs/CLI.md) for what it offers: ``encrypt``, ``decrypt``, ``inspect``,
``keyring init|list|add-key``. Secrets never come from the command line:
an option names an environment variable, a file or a file descriptor, a
default environment variable is used when set, and otherwise the
terminal is asked without echo. The exit code is the class number of
the error table (docs/ERRORS.md): 2 usage, 3 I/O, 4 format, 5 integrity,
6 key, 7 conflict, 8 cancelled.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Optional, Sequence

from ._errors import StrongroomError, UsageError, error
from ._files import decrypt_file, encrypt_file, inspect
from ._files import open as open_encrypted
from ._keyring import EnvSecret, FdSecret, FileSecret, KdfParams, Keyring, SecretSource

__all__ = ["main"]

#: Default environment variables of the secrets (as the Rust command's).
ENV_KEYRING = "STRONGROOM_KEYRING"
ENV_KEYRING_PASSPHRASE = "STRONGROOM_KEYRING_PASSPHRASE"
ENV_PASSPHRASE = "STRONGROOM_PASSPHRASE"

_COPY = 1 << 20


class _Usage(Exception):
    """A usage error found by the command itself (exit 2)."""


def _default_keyring() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "strongroom" / "keyring.srk"


def _source(env: Optional[str], file: Optional[str], fd: Optional[int], what: str) -> Optional[SecretSource]:
    given = [s for s in (env and EnvSecret(env), file and FileSecret(file),
                         None if fd is None else FdSecret(fd)) if s]
    if len(given) > 1:
        raise _Usage(f"give only one source of the {what}")
    return given[0] if given else None


def _terminal() -> bool:
    return sys.stdin.isatty() or sys.stderr.isatty()


def _ask(prompt: str, *, twice: bool) -> str:
    if not _terminal():
        raise _Usage(f"no terminal to ask for the {prompt.lower()}: give it with an option "
                     f"(--...-env, --...-file, --...-fd) or its environment variable")
    first = getpass.getpass(f"{prompt}: ")
    if twice:
        if not first:
            raise _Usage("an empty passphrase is refused")
        if getpass.getpass(f"{prompt} (again): ") != first:
            raise _Usage("the two passphrases differ")
    return first


class _Keyring:
    """How the keyring is found and unlocked."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.path = Path(args.keyring or os.environ.get(ENV_KEYRING) or _default_keyring())
        self.args = args

    def exists(self) -> bool:
        return self.path.exists()

    def open(self) -> Keyring:
        a = self.args
        recovery = _source(getattr(a, "recovery_key_env", None), getattr(a, "recovery_key_file", None), None,
                           "recovery key")
        source = _source(a.keyring_passphrase_env, a.keyring_passphrase_file, a.keyring_passphrase_fd,
                         "keyring passphrase")
        if recovery is not None and source is not None:
            raise _Usage("give a keyring passphrase or a recovery key, not both")
        if recovery is not None:
            return Keyring.open(self.path, recovery_key=recovery.read())
        if source is None and ENV_KEYRING_PASSPHRASE in os.environ:
            source = EnvSecret(ENV_KEYRING_PASSPHRASE)
        secret = source.read() if source is not None else _ask(f"Passphrase of the keyring {self.path}", twice=False)
        return Keyring.open(self.path, secret)

    def new_passphrase(self) -> str:
        a = self.args
        source = _source(a.keyring_passphrase_env, a.keyring_passphrase_file, a.keyring_passphrase_fd,
                         "keyring passphrase")
        if source is None and ENV_KEYRING_PASSPHRASE in os.environ:
            source = EnvSecret(ENV_KEYRING_PASSPHRASE)
        return source.read() if source is not None else _ask("New keyring passphrase", twice=True)


def _file_passphrase(args: argparse.Namespace, *, new: bool) -> Optional[str]:
    """The file passphrase, if the command uses one."""
    source = _source(args.passphrase_env, args.passphrase_file, args.passphrase_fd, "passphrase")
    if source is None and not args.passphrase:
        return None
    if source is None and ENV_PASSPHRASE in os.environ:
        source = EnvSecret(ENV_PASSPHRASE)
    return source.read() if source is not None else _ask("Passphrase", twice=new)


def _kdf(args: argparse.Namespace) -> KdfParams:
    return KdfParams(args.argon2_memory_mib * 1024, args.argon2_time, args.argon2_lanes)


# -- commands -------------------------------------------------------------------

def _encrypt(args: argparse.Namespace) -> None:
    ring_place = _Keyring(args)
    use_keyring = not args.no_keyring and ring_place.exists()
    if args.input != "-" and not args.output:
        args.output = args.input + ".srf"
    to_stdout = args.input == "-" and not args.output or args.output == "-"
    if to_stdout and sys.stdout.isatty():
        raise _Usage("refusing to write encrypted data to a terminal: use -o FILE or redirect")
    passphrase = _file_passphrase(args, new=True)
    if not use_keyring and passphrase is None:
        raise _Usage(f"nothing to encrypt to: no keyring at {ring_place.path} (create one with "
                     f"`keyring init`) and no --passphrase")
    ring = ring_place.open() if use_keyring else None
    try:
        kdf = _kdf(args)
        if args.input != "-" and not to_stdout:
            encrypt_file(args.input, args.output, keyring=ring, passphrase=passphrase, kdf=kdf,
                         overwrite=args.force)
            return
        source = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
        target = sys.stdout.buffer if to_stdout else args.output
        with source, open_encrypted(target, "wb", keyring=ring, passphrase=passphrase, kdf=kdf,
                                    overwrite=args.force) as out:
            shutil.copyfileobj(source, out, _COPY)
        if to_stdout:
            sys.stdout.buffer.flush()
    finally:
        if ring is not None:
            ring.close()


def _decrypt(args: argparse.Namespace) -> None:
    if args.input != "-" and not args.output:
        if not args.input.endswith(".srf"):
            raise _Usage(f"{args.input} does not end in .srf: name the output with -o")
        args.output = args.input[: -len(".srf")]
    to_stdout = args.input == "-" and not args.output or args.output == "-"
    ring_place = _Keyring(args)
    wants_passphrase = args.passphrase or any(
        v is not None for v in (args.passphrase_env, args.passphrase_file, args.passphrase_fd))
    ring: Optional[Keyring] = None
    passphrase: Optional[str] = None
    if args.input == "-":
        # A stream has no header to look at first: the options decide.
        if wants_passphrase or args.no_keyring or not ring_place.exists():
            args.passphrase = True
            passphrase = _file_passphrase(args, new=False)
        else:
            ring = ring_place.open()
    else:
        kinds = {s.kind for s in inspect(args.input).stanzas}
        if "keyring" in kinds and not wants_passphrase and not args.no_keyring and ring_place.exists():
            ring = ring_place.open()
        elif "passphrase" in kinds or wants_passphrase:
            args.passphrase = True
            passphrase = _file_passphrase(args, new=False)
        else:
            raise error("NoMatchingKey", f"{args.input} is for a keyring, and none is usable here "
                                         f"(no keyring at {ring_place.path}, or --no-keyring)")
    try:
        if args.input != "-" and not to_stdout:
            decrypt_file(args.input, args.output, keyring=ring, passphrase=passphrase, overwrite=args.force)
            return
        if not to_stdout:
            # From standard input to a file: the ciphertext is spooled next
            # to the output, which then appears only once everything
            # authenticated (decrypt_file's rules).
            _spooled_decrypt(args.output, ring, passphrase, args.force)
            return
        # To a stream: plaintext is released chunk by authenticated chunk;
        # a damaged input stops it part-way with a non-zero exit.
        source = sys.stdin.buffer if args.input == "-" else args.input
        with open_encrypted(source, "rb", keyring=ring, passphrase=passphrase) as reader:
            _copy(reader, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    finally:
        if ring is not None:
            ring.close()


def _copy(reader: BinaryIO, out: BinaryIO) -> None:
    while True:
        block = reader.read(_COPY)
        if not block:
            return
        out.write(block)


def _spooled_decrypt(output: str, ring: Optional[Keyring], passphrase: Optional[str], force: bool) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    with tempfile.NamedTemporaryFile(prefix=".strongroom-", suffix=".srf.tmp", dir=folder) as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, _COPY)
        spool.flush()
        decrypt_file(spool.name, output, keyring=ring, passphrase=passphrase, overwrite=force)


def _inspect(args: argparse.Namespace) -> None:
    info = inspect(args.file)
    print(f"format version {info.format_version}, suite {info.suite}")
    print(f"file id        {info.file_id.hex()}")
    print(f"header         {info.header_len} bytes")
    if info.payload_len is not None:
        plain = "impossible length (truncated?)" if info.plaintext_len is None else f"{info.plaintext_len} bytes"
        print(f"payload        {info.payload_len} bytes; plaintext {plain}")
    for n, s in enumerate(info.stanzas, 1):
        if s.kind == "keyring":
            assert s.keyring_id is not None
            print(f"recipient {n}    keyring {s.keyring_id.hex()}, key version {s.key_version}")
        elif s.kind == "passphrase":
            assert s.kdf is not None
            print(f"recipient {n}    passphrase (Argon2id {s.kdf.memory_kib // 1024} MiB, t={s.kdf.iterations}, "
                  f"p={s.kdf.parallelism})")
        else:
            print(f"recipient {n}    unknown kind")
    print("(nothing above is authenticated without a key)")


def _keyring_init(args: argparse.Namespace) -> None:
    place = _Keyring(args)
    if place.path.exists() or place.path.is_symlink():
        raise error("AlreadyExists", f"{place.path} already exists; refusing to overwrite it")
    place.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with Keyring.create(place.path, place.new_passphrase(), kdf=_kdf(args)) as ring:
        if not args.quiet:
            print(f"created keyring {place.path} (id {ring.id.hex()}), key version {ring.primary_version} primary")


def _keyring_list(args: argparse.Namespace) -> None:
    with _Keyring(args).open() as ring:
        print(f"keyring {ring.path} (id {ring.id.hex()})")
        for v in ring.versions():
            print(f"  version {v.version}: {v.status}")
        for p in ring.protectors():
            print(f"  protector {p.id}: {p.kind}")


def _keyring_add_key(args: argparse.Namespace) -> None:
    with _Keyring(args).open() as ring:
        version = ring.add_key(promote=args.promote)
        if not args.quiet:
            state = "primary" if args.promote else "decrypt-only"
            print(f"added key version {version} ({state})")


# -- arguments -------------------------------------------------------------------

def _unlock_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("keyring secret (one of)")
    g.add_argument("--keyring-passphrase-env", metavar="VAR",
                   help=f"the keyring passphrase's environment variable [default: {ENV_KEYRING_PASSPHRASE} "
                        "if set, else prompt]")
    g.add_argument("--keyring-passphrase-file", metavar="PATH",
                   help="read the keyring passphrase from this file (one trailing newline is stripped)")
    g.add_argument("--keyring-passphrase-fd", metavar="N", type=int,
                   help="read the keyring passphrase from this open file descriptor")


def _recovery_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("unlock with a recovery key instead")
    g.add_argument("--recovery-key-file", metavar="PATH")
    g.add_argument("--recovery-key-env", metavar="VAR")


def _passphrase_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("file passphrase source (each implies --passphrase)")
    g.add_argument("--passphrase-env", metavar="VAR",
                   help=f"[default: {ENV_PASSPHRASE} if set, else prompt]")
    g.add_argument("--passphrase-file", metavar="PATH", help="one trailing newline is stripped")
    g.add_argument("--passphrase-fd", metavar="N", type=int, help="e.g. 0 for standard input")


def _kdf_options(p: argparse.ArgumentParser) -> None:
    d = KdfParams()
    g = p.add_argument_group("Argon2id cost of a passphrase being set")
    g.add_argument("--argon2-memory-mib", metavar="MIB", type=int, default=d.memory_kib // 1024)
    g.add_argument("--argon2-time", metavar="T", type=int, default=d.iterations)
    g.add_argument("--argon2-lanes", metavar="P", type=int, default=d.parallelism)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m strongroom",
        description="Encrypt and decrypt files with a keyring and/or a passphrase (the everyday commands of "
                    "the strongroom command line, from the Python package).",
        epilog="Exit codes: 0 success, 1 internal error, 2 usage, 3 I/O, 4 format, 5 integrity "
               "(modified or truncated data), 6 key, 7 conflict (output exists), 8 cancelled.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--keyring", metavar="PATH",
                        help=f"keyring file [env {ENV_KEYRING}; default $XDG_CONFIG_HOME/strongroom/keyring.srk "
                             "or ~/.config/strongroom/keyring.srk]")
    common.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enc = commands.add_parser("encrypt", parents=[common], help="encrypt a file (or standard input)")
    enc.add_argument("input", nargs="?", default="-", metavar="INPUT", help="file, or - for standard input")
    enc.add_argument("-o", "--output", help="output file, or - [default: INPUT.srf; stdout for stdin]")
    enc.add_argument("--passphrase", action="store_true", help="also encrypt to a passphrase")
    enc.add_argument("--no-keyring", action="store_true", help="do not encrypt to the keyring")
    enc.add_argument("-f", "--force", action="store_true", help="replace the output file if it exists")
    _passphrase_options(enc)
    _kdf_options(enc)
    _unlock_options(enc)
    enc.set_defaults(run=_encrypt)

    dec = commands.add_parser("decrypt", parents=[common], help="decrypt a file (or standard input)")
    dec.add_argument("input", nargs="?", default="-", metavar="INPUT", help="file, or - for standard input")
    dec.add_argument("-o", "--output", help="output file, or - [default: INPUT without .srf; stdout for stdin]")
    dec.add_argument("--passphrase", action="store_true", help="open with a passphrase, not the keyring")
    dec.add_argument("--no-keyring", action="store_true", help="do not use the keyring")
    dec.add_argument("-f", "--force", action="store_true", help="replace the output file if it exists")
    _passphrase_options(dec)
    _unlock_options(dec)
    _recovery_options(dec)
    dec.set_defaults(run=_decrypt)

    ins = commands.add_parser("inspect", parents=[common], help="show an encrypted file's header (no key needed)")
    ins.add_argument("file", metavar="FILE")
    ins.set_defaults(run=_inspect)

    kr = commands.add_parser("keyring", help="create and manage the keyring")
    kr_commands = kr.add_subparsers(dest="keyring_command", required=True, metavar="COMMAND")
    init = kr_commands.add_parser("init", parents=[common], help="create a keyring (never overwrites)")
    _unlock_options(init)
    _kdf_options(init)
    init.set_defaults(run=_keyring_init)
    lst = kr_commands.add_parser("list", parents=[common], help="key versions and protectors")
    _unlock_options(lst)
    _recovery_options(lst)
    lst.set_defaults(run=_keyring_list)
    add = kr_commands.add_parser("add-key", parents=[common], help="add a key version")
    add.add_argument("--promote", action="store_true", help="make the new version primary at once")
    _unlock_options(add)
    _recovery_options(add)
    add.set_defaults(run=_keyring_add_key)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command; returns its exit code (the error table's class
    number on failure)."""
    parser = _parser()
    args = parser.parse_args(argv)
    prog = "strongroom"
    try:
        args.run(args)
        return 0
    except _Usage as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return UsageError.kind_number
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 8
    except StrongroomError as e:
        print(f"{prog}: {e} [{e.name} {e.code}]", file=sys.stderr)
        return e.kind_number
    except BrokenPipeError:
        return 3
    except OSError as e:
        # A failure of Python's own file handling (standard streams ...).
        print(f"{prog}: {e}", file=sys.stderr)
        return 3


def _entry() -> None:
    """The console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _entry()

