"""The ``gaokerena ui`` command: serve the clinicians' page over an index.

Gradio is imported only when the command runs, so ``gaokerena --help`` stays fast.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace


def add_commands(sub) -> None:
    from gaokerena_rag.cli_args import assistant_args

    p = sub.add_parser("ui", help="the Gradio page for clinicians (127.0.0.1, private by default)")
    assistant_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the page to the network)")
    p.add_argument("--port", type=int, help="port (default: Gradio's 7860, or GRADIO_SERVER_PORT)")
    p.add_argument("--auth", metavar="FILE", help="login: a file of user:secret lines (see --hash-password)")
    p.add_argument("--feedback-db", metavar="FILE", help="turn feedback on, stored in this SQLite file")
    p.add_argument("--log-dir", metavar="DIR", help="write each question and answer as JSONL here (off by default)")
    p.add_argument("--concurrency", type=int, default=4, help="answers computed at once (default 4)")
    p.add_argument("--stream-every", type=float, default=0.1, metavar="SECONDS",
                   help="least time between streamed updates after the first piece (default 0.1; 0 sends every piece)")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password and print the hash to put after 'user:' in the --auth file, then exit")
    p.set_defaults(func=cmd_ui)


def open_app(args):
    from gaokerena_rag.assistant import GaokerenaAssistant
    from gaokerena_rag.cli_args import open_assistant
    from gaokerena_rag.generators import GeneratorConfig

    from .app import ClinicianApp, UISettings

    primary = open_assistant(args)
    assistants = {primary.config.generator.backend: primary}
    default = GeneratorConfig()
    if default.backend not in assistants:  # the default composer is always offered: no weights, instant
        config = replace(primary.config, generator=default)
        assistants[default.backend] = GaokerenaAssistant(primary.retriever, config=config)
    settings = UISettings(host=args.host, port=args.port, auth_file=args.auth, feedback_db=args.feedback_db,
                          log_dir=args.log_dir, concurrency=args.concurrency, stream_every=args.stream_every)
    return ClinicianApp(assistants, settings)


def cmd_ui(args) -> int:
    if args.hash_password:
        from .auth import hash_password

        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        print(hash_password(password))
        return 0
    if args.concurrency < 1:
        raise ValueError("--concurrency must be >= 1")
    if args.auth:
        from .auth import read_credentials

        read_credentials(args.auth)  # a bad file stops here, before the index is opened
    app = open_app(args)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.auth:
        print(f"warning: serving on {args.host} without --auth: anyone who can reach this machine can use the page",
              file=sys.stderr)
    where = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port or 7860}"
    print(f"gaokerena ui: {where} (backends: {', '.join(app.assistants)}; Ctrl-C stops)", file=sys.stderr, flush=True)
    app.serve(block=True)
    return 0
