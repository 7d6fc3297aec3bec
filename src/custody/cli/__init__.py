"""The command line: the one place that prints, prompts and maps errors to exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import typer
from typer._click import exceptions as click_exc  # typer vendors click; pinned in pyproject

from custody.cli import (
    bundle_cmds,
    capture_cmds,
    case_cmds,
    chat_cmds,
    export_cmds,
    keys_cmds,
    log_cmds,
)
from custody.cli._common import err_console
from custody.errors import CustodyError, ExitCode

app = typer.Typer(
    name="custody",
    help="Preserve evidence with a verifiable chain of custody.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)
case_cmds.register(app)
capture_cmds.register(app)
chat_cmds.register(app)
export_cmds.register(app)
bundle_cmds.register(app)
app.add_typer(log_cmds.app, name="log")
app.add_typer(keys_cmds.app, name="keys")


def run(argv: Sequence[str]) -> int:
    """Run one command line; return its exit code (see README: exit codes)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(list(argv), prog_name="custody", standalone_mode=False)
    except click_exc.UsageError as exc:
        exc.show(file=sys.stderr)
        return ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        err_console().print("custody: interrupted")
        return ExitCode.INTERRUPTED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except CustodyError as exc:
        line = f"custody: error: {exc.message}"
        if exc.hint:
            line += f" ({exc.hint})"
        err_console().print(line, markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except click_exc.ClickException as exc:
        exc.show(file=sys.stderr)
        return ExitCode.USAGE
    except Exception as exc:  # the error boundary: anything else is a bug
        if os.environ.get("CUSTODY_DEBUG"):
            traceback.print_exc()
        err_console().print(
            f"custody: internal error (a bug, please report it): {type(exc).__name__}: {exc}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return ExitCode.ERROR
    return int(result) if isinstance(result, int) else ExitCode.OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
