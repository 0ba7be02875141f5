"""Training-side logic of the pipeline: plain typed functions, no CLI and no MLflow wiring."""
