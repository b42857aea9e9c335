"""`studio report`: one self-contained HTML page (tables, plot, image sliders, recipe) from a batch RUN_DIR."""
