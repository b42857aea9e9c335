"""Gradio only: the web app's layout and thin handlers. Nothing else imports gradio."""

from studio.ui.app import build_demo, clean_temp_folders, mount, queue_length

__all__ = ["build_demo", "clean_temp_folders", "mount", "queue_length"]
