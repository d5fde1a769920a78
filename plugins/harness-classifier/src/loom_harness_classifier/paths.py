"""Where a path points: the workspace, a scratch folder, elsewhere, the system, a secret."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from fnmatch import translate
from functools import lru_cache
from typing import Literal, NamedTuple

Place = Literal["workspace", "root", "device", "scratch", "outside", "system", "broad", "unknown"]

#: Folders whose content belongs to the operating system.
SYSTEM_PREFIXES = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot", "/dev",
                   "/sys", "/proc", "/var", "/opt", "/root", "/srv", "/snap", "/System",
                   "/Library", "/private", "/Applications")
#: Device files that are harmless to read from or write to.
HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin",
                              "/dev/tty", "/dev/random", "/dev/urandom", "/dev/fd/1", "/dev/fd/2"})
#: Home-folder entries that hold credentials, or run code at log-in.
HOME_SECRETS = (".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config/gcloud",
                ".config/gh", ".netrc", ".git-credentials", ".pgpass", ".npmrc", ".pypirc",
                ".vault-token", ".password-store")
HOME_STARTUP = (".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile",
                ".zshenv", ".config/fish", ".bash_logout", ".xinitrc", ".config/autostart")
#: File names that hold secrets wherever they are.
SECRET_NAMES = ("id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.pem", "*.key", "*.p12",
                "*.pfx", "*.keystore", ".netrc", ".git-credentials", ".pgpass", ".npmrc",
                ".pypirc", "credentials", "credentials.json", "shadow", "gshadow", "master.key",
                ".htpasswd", "secrets.yml", "secrets.yaml", "*.kdbx", "environ")
ENV_NAMES = (".env", ".env.*", "*.env", ".envrc")
#: Files that configure Loom itself: writing them is an attempt to change the rules.
CONFIG_NAMES = ("loom.toml",)
CONFIG_DIRS = (".loom",)


class PathInfo(NamedTuple):
    """What is known about one path argument (an immutable record; a named tuple is the cheapest to make)."""

    raw: str
    absolute: str
    place: Place
    secret: bool = False
    env_file: bool = False
    loom_config: bool = False
    startup: bool = False

    @property
    def inside(self) -> bool:
        """Whether the path is inside the workspace (the root included)."""
        return self.place in ("workspace", "root")


@lru_cache(maxsize=1)
def home() -> str:
    """The user's home folder."""
    return os.path.realpath(os.path.expanduser("~"))


@lru_cache(maxsize=1)
def scratch_dirs() -> tuple[str, ...]:
    """Temporary folders (writing there harms nothing that lasts)."""
    found = {"/tmp", "/var/tmp", os.path.realpath(tempfile.gettempdir())}
    return tuple(sorted(found))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


@lru_cache(maxsize=4096)
def _expand(raw: str, workspace: str) -> str | None:
    text = raw.strip()
    if text.startswith(("'", '"')) and text.endswith(text[0]) and len(text) > 1:
        text = text[1:-1]
    for token in ("$HOME", "${HOME}"):
        if text == token or text.startswith(token + "/"):
            text = home() + text[len(token):]
    if text == "~" or text.startswith("~/"):
        text = home() + text[1:]
    elif text.startswith("~"):
        return None  # ~user: another user's home
    if "$" in text or "`" in text:
        return None
    if not text.startswith("/"):
        text = workspace + "/" + text
    return text


def classify_path(raw: str, workspace: str) -> PathInfo:
    """Classify a path as a tool or a command would use it (relative to ``workspace``).

    ``workspace`` must be an absolute, resolved path. Symbolic links are
    resolved before ``..`` (as the system does), so a link pointing out of
    the workspace — or at Loom's configuration — is seen for what it is.
    """
    if PLAIN_RELATIVE.match(raw) is not None and _plain_workspace(workspace):
        joined = f"{workspace}/{raw}"
        absolute = _resolve_links(joined, workspace)
        if absolute == joined:  # no link on the way
            name = raw.rpartition("/")[2]
            return PathInfo(raw, absolute, "workspace", is_secret_name(name), is_env_name(name),
                            name in CONFIG_NAMES)
    return classify_path_full(raw, workspace)


def classify_path_full(raw: str, workspace: str) -> PathInfo:
    """:func:`classify_path` for any spelling (the fast path covers plain relative names)."""
    joined = _expand(raw, workspace)
    name = os.path.basename(raw.rstrip("/")) if raw else ""
    if joined is None:
        return PathInfo(raw, raw, "unknown", secret=_secret_name(name))
    if "/.." in joined:
        absolute = os.path.realpath(joined)
    else:
        absolute = os.path.normpath(joined)
        if _under(absolute, workspace) and absolute != workspace:
            absolute = _resolve_links(absolute, workspace)
    return _describe(raw, name, absolute, workspace)


#: A relative path of plain names: no ``.`` or ``..`` part, no hidden name, variable, quote or ``~``.
PLAIN_RELATIVE = re.compile(r"[\w+,@%=:-][\w.+,@%=:-]*(?:/[\w+,@%=:-][\w.+,@%=:-]*)*\Z")


@lru_cache(maxsize=16)
def _plain_workspace(workspace: str) -> bool:
    """Whether a plain relative path (:data:`PLAIN_RELATIVE`) is simply ``workspace/path`` there.

    It is unless the workspace is not a normalised absolute path, is ``/``,
    has a name starting with ``..``, lies inside Loom's configuration folder or under a hidden folder of the
    home folder (where credentials and start-up files are): then every path
    takes the full route.
    """
    if workspace == "/" or not workspace.startswith("/") or os.path.normpath(workspace) != workspace \
            or "/.." in workspace:
        return False
    if any(f"/{d}/" in workspace + "/" for d in CONFIG_DIRS):
        return False
    home_dir = home()
    return not (_under(workspace, home_dir) and workspace != home_dir
                and workspace[len(home_dir) + 1:].startswith("."))


@lru_cache(maxsize=4096)
def _describe(raw: str, name: str, absolute: str, workspace: str) -> PathInfo:
    """The part of :func:`classify_path` that depends on strings only (cached)."""
    real_name = os.path.basename(absolute)
    place = _place(absolute, workspace)
    home_dir = home()
    rel_home = absolute[len(home_dir) + 1:] if _under(absolute, home_dir) and absolute != home_dir else ""
    secret = _secret_name(name) or _secret_name(real_name) \
        or (bool(rel_home) and any(_under(rel_home, s) for s in HOME_SECRETS))
    env_file = is_env_name(name) or is_env_name(real_name)
    loom_config = name in CONFIG_NAMES or real_name in CONFIG_NAMES \
        or any(f"/{d}/" in absolute + "/" for d in CONFIG_DIRS)
    startup = bool(rel_home) and any(_under(rel_home, s) for s in HOME_STARTUP)
    if secret or startup:
        place = "system" if place == "outside" else place
    return PathInfo(raw, absolute, place, secret, env_file, loom_config, startup)


def _resolve_links(absolute: str, workspace: str) -> str:
    """``absolute`` with links resolved, checking only the components below the workspace."""
    current = workspace
    for part in absolute[len(workspace) + 1:].split("/"):
        current = f"{current}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return os.path.realpath(absolute)
        except OSError:
            return absolute  # does not exist (yet): nothing below it can be a link
    return absolute


def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


class NameGlobs:
    """Whether a file name matches one of some glob patterns, as their ``fnmatch`` regular expression says.

    Patterns spelled ``name``, ``prefix*`` or ``*suffix`` (no other glob
    character) are checked with string methods (a property test checks them
    against the expression); any other pattern with the expression.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.regex = _glob_regex(patterns)
        exact: set[str] = set()
        prefixes: list[str] = []
        suffixes: list[str] = []
        others: list[str] = []
        for pattern in patterns:
            body = pattern.strip("*")
            if not body or "*" in body or "?" in body or "[" in body or pattern.count("*") > 1:
                others.append(pattern)
            elif pattern == body:
                exact.add(body)
            elif pattern.endswith("*"):
                prefixes.append(body)
            else:
                suffixes.append(body)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.suffixes = tuple(suffixes)
        self.others = _glob_regex(tuple(others)) if others else None

    def __call__(self, name: str) -> bool:
        return name in self.exact or name.startswith(self.prefixes) or name.endswith(self.suffixes) \
            or (self.others is not None and self.others.match(name) is not None)


SECRET_PATTERN = _glob_regex(SECRET_NAMES)
ENV_PATTERN = _glob_regex(ENV_NAMES)
is_secret_name = NameGlobs(SECRET_NAMES)
is_env_name = NameGlobs(ENV_NAMES)


def _secret_name(name: str) -> bool:
    return is_secret_name(name)


def _place(absolute: str, workspace: str) -> Place:
    if absolute == workspace:
        return "root"
    if _under(absolute, workspace):
        return "workspace"
    if absolute == "/" or _under(workspace, absolute) or absolute == home() \
            or _under(home(), absolute):
        return "broad"
    if absolute in HARMLESS_DEVICES:
        return "device"
    if any(_under(absolute, s) for s in scratch_dirs()):
        return "scratch"
    if any(_under(absolute, p) for p in SYSTEM_PREFIXES):
        return "system"
    return "outside"


def is_broad_pattern(raw: str) -> bool:
    """Whether a destructive command's target is a whole tree by its spelling alone."""
    text = raw.strip().strip("'\"")
    return text in {"*", ".*", "./*", "/*", "~/*", "~/", "~", "/", ".", "./", "..", "../", "$HOME",
                    "${HOME}", "$HOME/*", "/.", "//"} or text.startswith("../") \
        or (text.startswith("/") and text.rstrip("/*") == "")
