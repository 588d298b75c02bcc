"""``switchboard users add|list|disable|enable|passwd``: console accounts."""

from __future__ import annotations

import argparse
import getpass
import sys


def _store():
    from console.store import ConsoleStore
    from switchboard.records import CallStore
    from switchboard.settings import get_settings

    return ConsoleStore(CallStore(get_settings().call_store_url))


def _password(args: argparse.Namespace) -> str | None:
    """``--password``, else typed twice at a terminal, else ``None`` (generate one)."""
    if args.password:
        return args.password
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("password (empty: generate one): ")
    if not first:
        return None
    if getpass.getpass("again: ") != first:
        raise SystemExit("switchboard users: the passwords differ")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    from console.users import create_user

    store = _store()
    try:
        user, generated = create_user(store, args.name, args.role, _password(args))
    except ValueError as e:
        print(f"switchboard users add: {e}", file=sys.stderr)
        return 1
    finally:
        store.calls.close()
    print(f"added {user.name} ({user.role})")
    if generated:
        print(f"password: {generated}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = _store()
    try:
        for user in store.list_users():
            state = "  disabled" if user.disabled else ""
            print(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M}{state}")
    finally:
        store.calls.close()
    return 0


def _set(args: argparse.Namespace, done: str, **change) -> int:
    from console.users import check_name

    store = _store()
    try:
        store.update_user(check_name(args.name), **change)
    except (KeyError, ValueError) as e:
        print(f"switchboard users {args.command_name}: {e}", file=sys.stderr)
        return 1
    finally:
        store.calls.close()
    print(f"{args.name}: {done}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    return _set(args, "disabled", disabled=True, end_sessions=True)


def cmd_enable(args: argparse.Namespace) -> int:
    return _set(args, "enabled", disabled=False)


def cmd_passwd(args: argparse.Namespace) -> int:
    from console.security import generate_password, hash_password

    password = _password(args)
    if password is not None and len(password) < 10:
        print("switchboard users passwd: a password needs at least 10 characters", file=sys.stderr)
        return 1
    generated = None if password else generate_password()
    code = _set(args, "new password set", password_hash=hash_password(password or generated))
    if code == 0 and generated:
        print(f"password: {generated}")
    return code


def print_demo_users(settings) -> None:
    """Make the console's demo accounts (not in production) and print their sign-in; what
    ``switchboard users demo`` does, for ``switchboard prepare`` to call too."""
    from console.users import ensure_demo_users
    from switchboard.records import CallStore

    if settings.environment == "production":
        print("console users:  no demo accounts in production")
        return
    with CallStore(settings.call_store_url) as store:
        for user in ensure_demo_users(store):
            sign_in = (
                f"password {user.password}"
                if user.password
                else f"exists (new password: switchboard users passwd {user.name})"
            )
            print(f"console user:   {user.name} ({user.role}), {sign_in}")
    print(f"console:        http://{settings.host}:{settings.port}/signin")


def cmd_demo(args: argparse.Namespace) -> int:
    from switchboard.settings import get_settings

    print_demo_users(get_settings())
    return 0


def add_commands(sub) -> None:
    users = sub.add_parser("users", help="console accounts (agents, supervisors, admins)")
    commands = users.add_subparsers(dest="users_command", required=True)

    add = commands.add_parser("add", help="create an account (prints a generated password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    add.add_argument("--password", default=None, help="default: ask, or generate one")
    add.set_defaults(func=cmd_add)

    listing = commands.add_parser("list", help="list the accounts")
    listing.set_defaults(func=cmd_list)

    for name, func, text in (
        ("disable", cmd_disable, "stop an account signing in (ends its sessions)"),
        ("enable", cmd_enable, "let a disabled account sign in again"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("name")
        command.set_defaults(func=func, command_name=name)

    demo = commands.add_parser("demo", help="make the demo supervisor and agent, print them")
    demo.set_defaults(func=cmd_demo)

    passwd = commands.add_parser("passwd", help="set a new password (ends the sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password", default=None, help="default: ask, or generate one")
    passwd.set_defaults(func=cmd_passwd, command_name="passwd")
