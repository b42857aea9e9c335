"""Gradio only: the web app's layout and thin handlers. Nothing else imports gradio."""

from studio.ui.app import build_demo, launch

__all__ = ["build_demo", "launch"]
