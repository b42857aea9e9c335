"""Loading a model in a named form, checked to be that form (not what `auto` would pick on this machine)."""

from __future__ import annotations


def load_exactly(loader, spec, form: dict):
    """The enhancer for `spec` in `form` ({backend, precision, device}), asserted to run exactly that."""
    enhancer = loader.load(spec, **form)
    assert (enhancer.info.backend, enhancer.info.precision, enhancer.info.device) == (
        form["backend"],
        form["precision"],
        form["device"],
    )
    return enhancer
