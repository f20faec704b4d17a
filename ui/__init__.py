"""The Gradio page for clinicians (``gaokerena ui``): ``ClinicianApp`` and ``UISettings``.

Gradio is imported on first use of those names, so ``ui.cli`` and ``ui.auth`` stay light.
"""

from typing import Any

__all__ = ["ClinicianApp", "UISettings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
