"""The web server around the Gradio app: /healthz, /readyz, /metrics, request ids, logs, CORS and body checks.

A front end, on the same level as `ui/` and `cli/`: it never imports gradio (app.py mounts the Gradio
app, built by `ui/`, onto the FastAPI app built here). prometheus_client lives in `metrics.py` only.
"""
