"""What well-known programs do, judged from their arguments."""

from __future__ import annotations

import re
from collections.abc import Callable

from loom_harness_classifier.pathrisk import Context, delete_path, read_path, write_path
from loom_harness_classifier.paths import classify_path

Handler = Callable[[str, list[str], Context], None]

READ_FILES = frozenset({"cat", "head", "tail", "less", "more", "wc", "base64", "xxd", "od",
                        "strings", "hexdump", "md5sum", "sha1sum", "sha256sum", "sha512sum",
                        "file", "stat", "sort", "uniq", "cut", "nl", "diff", "cmp", "ls", "du",
                        "tree", "realpath", "readlink", "bat", "jq", "yq", "tac", "column",
                        "zcat", "paste", "comm", "fold", "fmt", "expand"})
READ_PATTERN_FIRST = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"})
HARMLESS = frozenset({"echo", "printf", "pwd", "which", "whereis", "type", "date", "whoami", "id",
                      "uname", "hostname", "true", "false", "test", "[", "[[", "basename",
                      "dirname", "seq", "sleep", "ps", "uptime", "free", "exit", "clear",
                      "tr", "rev", "yes", "man", "help", "locate", "nproc", "arch", "tput", ":", "popd",
                      "wait", "read", "shift", "return", "let", "expr", "time", "df", "lsblk"})
NETWORK = frozenset({"curl", "wget", "nc", "ncat", "netcat", "ssh", "scp", "sftp", "ftp", "telnet",
                     "socat", "http", "https", "xh", "aria2c", "rsync", "ping", "dig", "nslookup",
                     "host", "whois", "tftp", "lftp", "smbclient", "mosquitto_pub", "openssl"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "csh", "tcsh", "mksh"})
INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php",
                          "deno", "bun", "lua", "Rscript", "pwsh", "powershell", "osascript",
                          "irb", "tclsh"})
ESCALATION = frozenset({"passwd", "useradd", "usermod", "userdel", "groupadd", "chpasswd",
                        "visudo", "setcap", "mount", "umount", "losetup", "swapon", "swapoff",
                        "modprobe", "insmod", "rmmod", "iptables", "ip6tables", "nft", "ufw",
                        "sysctl", "chattr", "setenforce", "csrutil", "launchctl"})
DISK_WIPERS = frozenset({"mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "parted", "gdisk",
                         "cfdisk", "blkdiscard", "sgdisk", "mkdosfs", "diskutil"})
POWER = frozenset({"shutdown", "reboot", "halt", "poweroff", "init", "telinit"})
ENV_DUMPS = frozenset({"env", "printenv", "set", "export", "declare", "typeset", "compgen"})
PACKAGE_MANAGERS: dict[str, frozenset[str]] = {
    "pip": frozenset({"install", "download"}), "pip3": frozenset({"install", "download"}),
    "pipx": frozenset({"install", "run", "inject"}), "uv": frozenset({"add", "pip", "tool", "run"}),
    "poetry": frozenset({"add", "install"}), "npm": frozenset({"install", "i", "add", "ci", "exec"}),
    "npx": frozenset(), "yarn": frozenset({"add", "install", "dlx"}),
    "pnpm": frozenset({"add", "install", "i", "dlx"}),
    "apt": frozenset({"install"}), "apt-get": frozenset({"install"}), "yum": frozenset({"install"}),
    "dnf": frozenset({"install"}), "apk": frozenset({"add"}), "brew": frozenset({"install"}),
    "pacman": frozenset({"-S", "-Sy", "-Syu"}), "zypper": frozenset({"install", "in"}),
    "gem": frozenset({"install"}), "cargo": frozenset({"install"}),
    "go": frozenset({"install", "get"}), "conda": frozenset({"install"}),
    "mamba": frozenset({"install"}), "snap": frozenset({"install"}),
}
INLINE_CODE_FLAGS = frozenset({"-c", "-e", "-E", "-r", "--eval", "--command", "-command"})
CODE_DESTROY = re.compile(r"rmtree|os\.remove|\bunlink\b|\brmdir\b|rm -r|truncate\(|\.delete\(|rimraf"
                          r"|\brm_rf\b|rmSync|File\.delete|FileUtils\.rm")
CODE_NETWORK = re.compile(r"urllib|requests\.|socket|http\.client|fetch\(|LWP::|Net::HTTP")
CODE_ENV = re.compile(r"os\.environ|process\.env|ENV\[|getenv|%ENV")
CODE_SHELL = re.compile(r"os\.system|subprocess|popen|exec\(|spawn|system\(|`")


def options_and_args(words: list[str]) -> tuple[list[str], list[str]]:
    """Split arguments into options (``-x``, ``--long``) and operands (after ``--`` too)."""
    options: list[str] = []
    operands: list[str] = []
    rest = False
    for word in words:
        if rest or not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            rest = True
        else:
            options.append(word)
    return options, operands


def short_flags(options: list[str]) -> set[str]:
    """Every single-letter flag in ``-abc`` style options."""
    return {ch for o in options if not o.startswith("--") for ch in o[1:]}


def rm(name: str, args: list[str], ctx: Context) -> None:
    """``rm``, ``rmdir``, ``unlink``, ``shred``: deletion."""
    options, targets = options_and_args(args)
    flags = short_flags(options)
    recursive = bool({"r", "R"} & flags) or "--recursive" in options or name == "rmdir"
    if "--no-preserve-root" in options:
        ctx.findings.add("destroy", 0.99, "shell.rm-no-preserve-root",
                         "disables rm's protection of the root folder")
    if not targets:
        ctx.findings.add("destroy", 0.6, "shell.rm", f"runs {name} with targets from elsewhere")
    for target in targets:
        delete_path(ctx, target, recursive=recursive, verb=f"{name} deletes" if name != "shred"
                    else "shred overwrites")


def find(name: str, args: list[str], ctx: Context) -> None:
    """``find``: read-only unless it deletes or runs a command per file."""
    roots = []
    for word in args:
        if word.startswith(("-", "(", "!")):
            break
        roots.append(word)
    roots = roots or ["."]
    if "-delete" in args:
        for root in roots:
            delete_path(ctx, root, recursive=True, verb="find -delete removes files under")
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in args:
            start = args.index(flag) + 1
            end = next((i for i in range(start, len(args)) if args[i] in (";", "+")), len(args))
            command = [(roots[0] if w == "{}" else w) for w in args[start:end]]
            ctx.nested(" ".join(_quote(w) for w in command))
    for root in roots:
        read_path(ctx, root, verb="find searches")


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'" if word else "''"


def dd(name: str, args: list[str], ctx: Context) -> None:
    """``dd``: ``of=`` a device wipes it."""
    for word in args:
        key, _, value = word.partition("=")
        if key == "of" and value:
            if value.startswith("/dev/") and value not in ("/dev/null", "/dev/zero"):
                ctx.findings.add("destroy", 0.99, "shell.dd-device", f"dd overwrites the device {value!r}")
            else:
                write_path(ctx, value, verb="dd writes")
        elif key == "if" and value:
            if value.startswith("/dev/") and value not in ("/dev/zero", "/dev/urandom", "/dev/random"):
                ctx.findings.add("read", 0.9, "shell.dd-read-device", f"dd reads the raw device {value!r}")
            else:
                read_path(ctx, value, verb="dd reads")


def chmod(name: str, args: list[str], ctx: Context) -> None:
    """``chmod``, ``chown``, ``chgrp``: permission and ownership changes."""
    options, operands = options_and_args(args)
    recursive = "R" in short_flags(options) or "--recursive" in options
    if not operands:
        return
    mode, targets = (operands[0], operands[1:]) if name != "chown" or len(operands) > 1 else ("", operands)
    if name == "chmod" and (re.search(r"[+=][^,]*s", mode) or re.fullmatch(r"[246][0-7]{3}", mode)):
        ctx.findings.add("escalate", 0.95, "shell.setuid", f"chmod {mode} sets the setuid/setgid bit")
    world = name == "chmod" and (mode.endswith("777") or "o+w" in mode or "a+w" in mode
                                 or "+rwx" in mode.replace("u", "").replace("g", ""))
    for target in targets:
        before = len(ctx.findings.items)
        info = write_path(ctx, target, verb=f"{name} changes")
        if recursive and (info.place in ("broad", "root", "system", "outside") or target in ("/", "~")):
            ctx.findings.add("destroy", 0.97, "shell.chmod-recursive-tree",
                             f"{name} -R changes the permissions of a whole tree at {target!r}")
        elif world and len(ctx.findings.items) > before:
            ctx.findings.add("mutate", 0.55, "shell.chmod-world",
                             f"chmod {mode} makes {target!r} writable by everyone")


def git(name: str, args: list[str], ctx: Context) -> None:
    """``git``: from read-only (status) to destructive (push --force, reset --hard)."""
    words = list(args)
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag in ("-C", "-c", "--git-dir", "--work-tree") and words:
            words.pop(0)
    if not words:
        return
    sub, rest = words[0], words[1:]
    add = ctx.findings.add
    options, operands = options_and_args(rest)
    flags = short_flags(options)
    if sub == "push":
        ctx.network = True
        if {"f"} & flags or any(o.startswith(("--force", "--mirror", "--delete", "--prune"))
                                for o in options) or "d" in flags \
                or any(o.startswith(("+", ":")) for o in operands):
            add("destroy", 0.85, "shell.git-push-force", "git push overwrites or deletes remote history")
        else:
            add("network", 0.5, "shell.git-push", "git push publishes commits")
    elif sub == "reset" and any(o in ("--hard", "--merge", "--keep") for o in options):
        add("destroy", 0.75, "shell.git-reset-hard", "git reset --hard discards uncommitted work")
    elif sub == "clean" and ("f" in flags or "--force" in options):
        add("destroy", 0.75, "shell.git-clean", "git clean -f deletes untracked files")
    elif sub in ("checkout", "restore") and ("--" in rest or "." in operands or "f" in flags
                                             or "--force" in options):
        add("destroy", 0.6, "shell.git-discard", f"git {sub} discards uncommitted changes")
    elif sub in ("branch", "tag") and ("D" in flags or ("d" in flags and sub == "tag")):
        add("destroy", 0.6, "shell.git-delete-ref", f"git {sub} deletes a reference")
    elif sub == "stash" and operands[:1] in (["drop"], ["clear"]):
        add("destroy", 0.6, "shell.git-stash-drop", "git stash drops saved work")
    elif sub in ("filter-branch", "filter-repo", "rebase") or (sub == "commit" and "--amend" in options) \
            or (sub in ("reflog", "gc") and any("expire" in w or "prune" in w for w in rest)):
        add("destroy", 0.7, "shell.git-rewrite", f"git {sub} rewrites history")
    elif (sub in ("clone", "fetch", "pull", "ls-remote", "submodule", "remote") and sub != "remote") \
            or (sub == "remote" and operands[:1] in (["update"], ["add"])):
        ctx.network = True
        add("network", 0.4, "shell.git-network", f"git {sub} talks to a remote")
    elif sub == "config":
        keys = " ".join(operands).lower()
        if any(k in keys for k in ("hookspath", "sshcommand", "pager", "alias.", "credential",
                                   "editor", "fsmonitor", "core.askpass")):
            add("execute", 0.8, "shell.git-config-exec", "git config makes git run a program")
        else:
            add("mutate", 0.4, "shell.git-config", "git config changes repository settings")
    elif sub in ("status", "log", "diff", "show", "blame", "rev-parse", "ls-files", "describe",
                 "shortlog", "grep", "branch", "tag", "remote", "reflog", "cat-file", "ls-tree",
                 "whatchanged", "version", "help"):
        add("read", 0.05, "shell.git-read", f"git {sub} only reads")
    elif sub == "rm":
        add("destroy", 0.5, "shell.git-rm", "git rm deletes files")
    else:
        add("mutate", 0.35, "shell.git-write", f"git {sub} changes the repository")


def network(name: str, args: list[str], ctx: Context) -> None:
    """Network clients: uploads of files, downloads to files."""
    ctx.network = True
    ctx.findings.add("network", 0.5, "shell.network", f"{name} connects to the network")
    for i, word in enumerate(args):
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if word in ("-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form",
                    "--post-file", "--body-file") \
                or word.startswith(("--data=", "--post-file=", "--body-file=", "--data-binary=")):
            value = word.partition("=")[2] or nxt
            source = value.split("=", 1)[-1] if "=" in value and not value.startswith("@") else value
            if source.startswith("@") or word.split("=", 1)[0] in ("--post-file", "--body-file"):
                path = source.lstrip("@").lstrip("<")
                if path in ("-", ""):
                    ctx.findings.add("network", 0.6, "shell.upload-stdin", f"{name} uploads its input")
                else:
                    read_path(ctx, path, verb=f"{name} uploads")
            else:
                ctx.findings.add("network", 0.55, "shell.upload", f"{name} sends data")
        elif word in ("-T", "--upload-file") and nxt:
            read_path(ctx, nxt, verb=f"{name} uploads")
        elif word in ("-o", "--output", "-O") and nxt and name != "ssh" and not nxt.startswith("-"):
            write_path(ctx, nxt, verb=f"{name} downloads into")
        elif name in ("scp", "rsync") and not word.startswith("-") and ":" not in word:
            read_path(ctx, word, verb=f"{name} copies")


def package_manager(name: str, args: list[str], ctx: Context) -> None:
    """Package installs run code from the network (install scripts)."""
    verbs = PACKAGE_MANAGERS[name]
    if name == "npx" or any(a in verbs for a in args[:3]) or (name == "uv" and "install" in args[:3]):
        ctx.network = True
        ctx.findings.add("network", 0.6, "shell.package-install",
                         f"{name} installs packages from the network and runs their install scripts")
        ctx.findings.add("execute", 0.6, "shell.package-install",
                         f"{name} installs packages from the network and runs their install scripts")
    else:
        ctx.findings.add("execute", 0.4, "shell.package-manager", f"runs {name} {' '.join(args[:2])}")


def shell(name: str, args: list[str], ctx: Context) -> None:
    """``sh -c '...'`` is analysed as a command line; a bare shell reads its script from input."""
    options, operands = options_and_args(args)
    if any("c" in o for o in options if not o.startswith("--")) and operands:
        ctx.nested(operands[0])
    elif operands:
        read_path(ctx, operands[0], verb=f"{name} runs the script")
        ctx.findings.add("execute", 0.5, "shell.script", f"{name} runs the script {operands[0]!r}")
    else:
        ctx.interpreter = True
        ctx.findings.add("execute", 0.6, "shell.stdin-script", f"{name} runs commands from its input")


def interpreter(name: str, args: list[str], ctx: Context) -> None:
    """Interpreters: inline code is scanned for deletion, network and environment access."""
    for i, word in enumerate(args):
        if word in INLINE_CODE_FLAGS and i + 1 < len(args):
            code = args[i + 1]
            ctx.findings.add("execute", 0.55, "shell.inline-code", f"{name} runs inline code")
            if CODE_DESTROY.search(code):
                ctx.findings.add("destroy", 0.8, "shell.inline-code-delete", f"{name} code deletes files")
            if CODE_NETWORK.search(code):
                ctx.network = True
                ctx.findings.add("network", 0.6, "shell.inline-code-network", f"{name} code uses the network")
            if CODE_ENV.search(code):
                ctx.sensitive = True
                ctx.findings.add("read", 0.6, "shell.inline-code-env", f"{name} code reads the environment")
            if CODE_SHELL.search(code):
                ctx.findings.add("execute", 0.65, "shell.inline-code-shell", f"{name} code runs programs")
            return
        if word == "-m" and i + 1 < len(args):
            module = args[i + 1]
            if module == "pip" and "install" in args:
                package_manager("pip", args[i + 2:], ctx)
            elif module in ("http.server", "smtpd", "ftplib", "urllib.request"):
                ctx.network = True
                ctx.findings.add("network", 0.5, "shell.python-module-network", f"{name} -m {module}")
            else:
                ctx.findings.add("execute", 0.45, "shell.python-module", f"{name} -m {module}")
            return
        if not word.startswith("-"):
            read_path(ctx, word, verb=f"{name} runs the script")
            ctx.findings.add("execute", 0.5, "shell.script", f"{name} runs the script {word!r}")
            return
    ctx.interpreter = True
    ctx.findings.add("execute", 0.6, "shell.stdin-script", f"{name} runs code from its input")


def process_control(name: str, args: list[str], ctx: Context) -> None:
    """``kill`` and friends; power commands stop the machine."""
    if name in POWER or (name == "systemctl" and any(a in ("poweroff", "reboot", "halt", "kexec")
                                                     for a in args)):
        ctx.findings.add("destroy", 0.99, "shell.power", f"{name} stops or restarts the machine")
    elif name == "systemctl":
        if any(a in ("stop", "disable", "mask", "kill") for a in args):
            ctx.findings.add("destroy", 0.8, "shell.service-stop", "systemctl stops a service")
        elif any(a in ("enable", "start", "restart", "link", "edit", "daemon-reload") for a in args):
            ctx.findings.add("escalate", 0.85, "shell.service-start",
                             "systemctl starts or installs a service")
        else:
            ctx.findings.add("read", 0.1, "shell.service-read", "systemctl shows services")
    elif (name == "kill" and any(a in ("-1", "1") for a in args if a != "-9")) or "--all" in args:
        ctx.findings.add("destroy", 0.95, "shell.kill-all", "kill targets every process or init")
    else:
        ctx.findings.add("destroy", 0.6 if name == "kill" else 0.7, "shell.kill", f"{name} stops processes")


def scheduler(name: str, args: list[str], ctx: Context) -> None:
    """``crontab``, ``at``: scheduled jobs outlive the run."""
    if name == "crontab" and "-l" in args:
        ctx.findings.add("read", 0.1, "shell.crontab-list", "crontab -l lists scheduled jobs")
    elif name == "crontab" and "-r" in args:
        ctx.findings.add("destroy", 0.8, "shell.crontab-remove", "crontab -r deletes every scheduled job")
    else:
        ctx.findings.add("escalate", 0.85, "shell.schedule", f"{name} installs a scheduled job")


def env_dump(name: str, args: list[str], ctx: Context) -> None:
    """``env``, ``printenv``, ``set``, ``export -p``: the environment may hold secrets."""
    if name in ("export", "declare", "typeset") and args and not all(a.startswith("-") for a in args):
        ctx.findings.add("mutate", 0.2, "shell.export", f"{name} sets variables")
        return
    if name == "set" and args:
        ctx.findings.add("read", 0.05, "shell.set-options", "set changes shell options")
        return
    ctx.sensitive = True
    ctx.findings.add("read", 0.75, "shell.env-dump", f"{name} prints the environment, which may hold secrets")


def copy_move(name: str, args: list[str], ctx: Context) -> None:
    """``cp``, ``mv``, ``install``, ``ln``: the last operand is written, the others read (or moved)."""
    options, operands = options_and_args(args)
    if "-t" in options or any(o.startswith("--target-directory") for o in options):
        operands = operands[1:] + operands[:1]
    if len(operands) < 2:
        ctx.findings.add("mutate", 0.4, f"shell.{name}", f"runs {name} {' '.join(args)}")
        return
    *sources, dest = operands
    for source in sources:
        if name == "mv":
            delete_path(ctx, source, recursive=True, verb="mv moves away")
        elif name != "ln":
            read_path(ctx, source, verb=f"{name} copies")
        elif not classify_path(source, ctx.workspace).inside:
            ctx.findings.add("read", 0.75, "shell.link-outside",
                             f"ln links to {source!r}, outside the workspace: later paths through "
                             "the link leave it")
    if dest == "/dev/null" and name == "mv":
        ctx.findings.add("destroy", 0.8, "shell.mv-devnull", "mv into /dev/null destroys the files")
    write_path(ctx, dest, verb=f"{name} writes")


def writers(name: str, args: list[str], ctx: Context) -> None:
    """``touch``, ``mkdir``, ``tee``, ``truncate``, ``sed -i``, ``patch``: files changed in place."""
    options, operands = options_and_args(args)
    if name == "sed":
        in_place = any(o.startswith(("-i", "--in-place")) for o in options)
        files = operands[1:] if not any(o in ("-e", "-f") for o in options) else operands
        for path in files:
            (write_path if in_place else read_path)(ctx, path, "sed edits" if in_place else "sed reads")
        return
    if name == "truncate":
        for path in operands:
            delete_path(ctx, path, recursive=False, verb="truncate empties")
        return
    for path in operands:
        write_path(ctx, path, verb=f"{name} writes")
    if not operands:
        ctx.findings.add("mutate", 0.35, f"shell.{name}", f"runs {name}")


def change_dir(name: str, args: list[str], ctx: Context) -> None:
    """``cd``, ``pushd``: after leaving the workspace, relative paths cannot be judged."""
    _, operands = options_and_args(args)
    target = operands[0] if operands else "~"
    info = classify_path(target, ctx.workspace)
    if info.inside:
        ctx.findings.add("read", 0.05, "shell.cd", f"{name} {target}")
    else:
        ctx.findings.add("read", 0.7, "shell.cd-outside",
                         f"{name} leaves the workspace for {target!r}: later relative paths "
                         "point outside it")


def reader(name: str, args: list[str], ctx: Context) -> None:
    """Read-only programs; their path operands are checked for secrets and escapes."""
    options, operands = options_and_args(args)
    if name in READ_PATTERN_FIRST:
        operands = operands[1:] if not any(o in ("-e", "-f", "--regexp") for o in options) else operands
    for path in operands:
        read_path(ctx, path, verb=f"{name} reads")
    if not operands:
        ctx.findings.add("read", 0.05, "shell.read", f"{name} only reads")


def system_change(name: str, args: list[str], ctx: Context) -> None:
    """Accounts, mounts, kernel modules, firewalls: changes to the machine itself."""
    ctx.findings.add("escalate", 0.95, "shell.system-change", f"{name} changes the system configuration")


def disk_wipe(name: str, args: list[str], ctx: Context) -> None:
    """``mkfs``, ``wipefs``, ``fdisk``: file systems and partition tables."""
    ctx.findings.add("destroy", 0.99, "shell.disk", f"{name} formats or repartitions a disk")


HANDLERS: dict[str, Handler] = {
    "rm": rm, "rmdir": rm, "unlink": rm, "shred": rm, "srm": rm,
    "find": find, "dd": dd, "chmod": chmod, "chown": chmod, "chgrp": chmod, "git": git,
    "cp": copy_move, "mv": copy_move, "install": copy_move, "ln": copy_move,
    "touch": writers, "mkdir": writers, "tee": writers, "truncate": writers, "sed": writers,
    "patch": writers, "cd": change_dir, "pushd": change_dir,
    "crontab": scheduler, "at": scheduler, "batch": scheduler,
    "kill": process_control, "pkill": process_control, "killall": process_control,
    "systemctl": process_control, "service": process_control,
}
for _names, _handler in ((READ_FILES | READ_PATTERN_FIRST, reader), (NETWORK, network),
                         (SHELLS, shell), (INTERPRETERS, interpreter), (POWER, process_control),
                         (ENV_DUMPS, env_dump), (ESCALATION, system_change),
                         (DISK_WIPERS, disk_wipe), (frozenset(PACKAGE_MANAGERS), package_manager)):
    for _name in _names:
        HANDLERS.setdefault(_name, _handler)
