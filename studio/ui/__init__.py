"""Gradio only: the web app's layout and thin handlers. Nothing else imports gradio."""

from studio.ui.app import build_demo, clean_temp_folders, mount, queue_length
from studio.ui.limits import LIMITED_EVENTS

__all__ = ["LIMITED_EVENTS", "build_demo", "clean_temp_folders", "mount", "queue_length"]
